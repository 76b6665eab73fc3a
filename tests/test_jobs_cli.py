"""The training options of ``deepserve run``."""

from __future__ import annotations


def test_run_documents_the_training_options(cli):
    result = cli("run", "--help")
    assert result.returncode == 0
    for option, variable in [
        ("--data-dir", "DEEPSERVE_DATA_DIR"),
        ("--max-jobs", "DEEPSERVE_MAX_JOBS"),
        ("--job-retention", "DEEPSERVE_JOB_RETENTION"),
    ]:
        assert option in result.stdout and variable in result.stdout


def test_a_data_dir_that_cannot_hold_jobs_stops_the_server_at_once(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = cli("run", "--model", "trainer", "--port", "0", "--data-dir", str(blocker / "sub"))
    assert result.returncode == 1
    assert f"cannot keep training jobs in {blocker / 'sub'}" in result.stderr
    assert "Traceback" not in result.stderr


def test_max_jobs_must_be_positive(cli):
    result = cli("run", "--max-jobs", "0")
    assert result.returncode == 2
    assert "--max-jobs" in result.stderr
