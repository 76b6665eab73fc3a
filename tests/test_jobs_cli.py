"""The training options of ``deepserve run`` and ``deepserve worker``."""

from __future__ import annotations

import pytest
from servers import free_port

from deepserve.extras import MissingExtra, require


def test_run_documents_the_training_options(cli):
    result = cli("run", "--help")
    assert result.returncode == 0
    for option, variable in [
        ("--data-dir", "DEEPSERVE_DATA_DIR"),
        ("--max-jobs", "DEEPSERVE_MAX_JOBS"),
        ("--max-async-predictions", "DEEPSERVE_MAX_ASYNC_PREDICTIONS"),
        ("--max-queued-jobs", "DEEPSERVE_MAX_QUEUED_JOBS"),
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


def test_max_queued_jobs_cannot_be_negative(cli):
    result = cli("run", "--max-queued-jobs", "-1")
    assert result.returncode == 2
    assert "--max-queued-jobs" in result.stderr


def test_run_and_worker_document_the_scaling_options(cli):
    run = cli("run", "--help")
    for option, variable in [
        ("--jobs", "DEEPSERVE_JOBS"),
        ("--broker", "DEEPSERVE_BROKER"),
        ("--database", "DEEPSERVE_DATABASE"),
        ("--heartbeat-timeout", "DEEPSERVE_HEARTBEAT_TIMEOUT"),
    ]:
        assert option in run.stdout and variable in run.stdout
    worker = cli("worker", "--help")
    assert worker.returncode == 0
    for option in ("--model", "--kind", "--broker", "--database", "--data-dir", "--max-jobs"):
        assert option in worker.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--jobs", "celery"], "Celery jobs need a broker URL (--broker redis://HOST:PORT/DB)"),
        (["--database", "mysql://u:secret@h/db"], "unsupported job database mysql://u:***@h/db"),
        (["--database", "not a url"], "--database: Could not parse SQLAlchemy URL"),
    ],
)
def test_run_refuses_bad_job_settings_at_once(cli, tmp_path, args, message):
    result = cli("run", "--model", "trainer", "--port", "0", "--data-dir", str(tmp_path), *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_job_database_stops_the_server_at_once(cli, tmp_path):
    url = f"postgresql://deepserve:secret@127.0.0.1:{free_port()}/jobs"
    result = cli("run", "--model", "trainer", "--port", "0", "--database", url)
    assert result.returncode == 1
    shown = url.replace("postgresql:", "postgresql+psycopg:").replace("secret", "***")
    assert f"cannot keep training jobs in {shown}: " in result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 2, "Missing option '--broker'"),
        (["--broker", "redis://127.0.0.1:1/0", "--model", "ghost"], 1, "ghost"),
    ],
)
def test_worker_refuses_bad_settings_at_once(cli, args, code, message):
    result = cli("worker", *args)
    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_extra_is_named():
    with pytest.raises(MissingExtra, match=r"pip install 'deepserve\[celery\]'"):
        require("deepserve_no_such_module", "celery", "Training on Celery workers")
