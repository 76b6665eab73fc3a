"""The ``deepserve`` command line, run as the installed console script."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from deepserve.cli.arguments import parameter_options


def test_list_shows_every_entry_point_with_status(cli):
    result = cli("list")
    assert result.returncode == 1  # the broken test models are rejected
    lines = {
        line.split()[0]: line
        for line in result.stdout.splitlines()[1:]
        if "[deepserve.model:" in line  # the DEEPaaS test package clashes on "echo"
    }
    assert "  ok  " in lines["echo"] and "deepserve_testmodels.echo:EchoModel" in lines["echo"]
    assert "rejected: import failed" in lines["broken-import"]
    assert (
        "rejected: missing or non-callable required member 'predict'" in lines["broken-nopredict"]
    )


def test_list_verbose_shows_where_a_model_failed(cli):
    result = cli("list", "--verbose", "--no-deepaas")
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("broken-import "))
    assert "(" in lines[start] and "broken_import.py, line 3)" in lines[start]
    trace = lines[start + 1 : start + 4]
    assert trace[0].strip() == "Traceback (most recent call last):"
    assert 'broken_import.py", line 3, in <module>' in trace[1]
    assert trace[2].strip() == "import tensorflow_fake  # noqa: F401  (deliberately missing)"
    assert "Traceback" not in cli("list", "--no-deepaas").stdout


def test_list_of_selected_models_exits_0_when_they_are_valid(cli):
    result = cli("list", "--model", "echo", "--model", "module", "--no-deepaas")
    assert result.returncode == 0, result.stdout
    assert [line.split()[:2] for line in result.stdout.splitlines()[1:]] == [
        ["echo", "ok"],
        ["module", "ok"],
    ]
    missing = cli("list", "--model", "ecoh")
    assert missing.returncode == 1
    assert "rejected: no such entry point is installed (did you mean 'echo'?" in missing.stdout


def test_list_json(cli):
    rows = {
        row["name"]: row
        for row in json.loads(cli("list", "--json").stdout)
        if row["group"] == "deepserve.model"
    }
    assert rows["module"]["status"] == "ok"
    assert rows["broken-init"]["status"].startswith("rejected: instantiating")


def test_predict_prints_json(cli):
    result = cli("predict", "echo", "--text", "hi", "--count=2", "--numbers", "1", "--numbers", "4")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert (body["text"], body["numbers_sum"]) == ("hihi", 5)


def test_predict_bool_values_and_bare_flags(cli):
    result = cli("predict", "badoutput", "--broken", "false")
    assert json.loads(result.stdout) == {"label": "ok", "score": 0.5}
    assert json.loads(cli("predict", "echo", "--text", "a", "--flag").stdout)["flag"] is True


def test_predict_with_a_file_argument(cli, tmp_path):
    data = tmp_path / "sample.csv"
    data.write_text("a,b\n1,2\n")
    result = cli("predict", "files", "--data", str(data))
    assert result.returncode == 0, result.stderr
    predictions = json.loads(result.stdout)["predictions"]
    assert predictions["original_filename"] == "sample.csv"
    assert predictions["content_type"] == "text/csv"
    assert predictions["size"] == 8
    assert data.exists()  # the user's own file is left alone


def test_predict_bad_argument_exits_2_with_errors(cli):
    result = cli("predict", "echo", "--count", "99")
    assert result.returncode == 2
    errors = json.loads(result.stderr)["errors"]
    assert set(errors) == {"text", "count"}
    assert result.stdout == ""


def test_predict_missing_file_exits_2(cli, tmp_path):
    result = cli("predict", "files", "--data", str(tmp_path / "absent.png"))
    assert result.returncode == 2
    assert "No such file" in json.loads(result.stderr)["errors"]["data"][0]


def test_predict_binary_output_to_file(cli, tmp_path):
    out = tmp_path / "out.png"
    result = cli("predict", "media", "--media-type", "image/png", "--output-file", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"\x89PNG")
    needs_file = cli("predict", "media", "--media-type", "image/png")
    assert needs_file.returncode == 2 and "--output-file" in needs_file.stderr


def test_predict_model_failure_exits_1(cli):
    result = cli("predict", "failing")
    assert result.returncode == 1
    assert "RuntimeError: the model broke" in json.loads(result.stderr)["message"]


def test_predict_unknown_model_exits_1(cli):
    result = cli("predict", "nope")
    assert result.returncode == 1
    assert "no such entry point is installed (installed models: " in result.stderr


def test_a_misspelt_model_gets_a_suggestion(cli):
    result = cli("predict", "ecoh", "--text", "a")
    assert result.returncode == 1
    assert "(did you mean 'echo'? installed models: " in result.stderr


def test_openapi_prints_a_valid_spec(cli):
    spec = json.loads(cli("openapi").stdout)
    validate(spec)
    only_echo = json.loads(cli("openapi", "--model", "echo").stdout)
    model_paths = {p.split("/")[3] for p in only_echo["paths"] if p.count("/") > 3}
    assert model_paths == {"echo"}
    assert "/v2/models/echo/predict/" in only_echo["paths"]


def test_run_refuses_a_rejected_or_missing_selection(cli):
    result = cli("run", "--model", "echo", "--model", "broken-schema", "--port", "1")
    assert result.returncode == 1
    assert "model 'broken-schema'" in result.stderr and "got int" in result.stderr


def test_run_without_preload_still_refuses_a_rejected_model_before_serving(cli):
    result = cli("run", "--no-preload", "--model", "broken-init", "--port", "1")
    assert result.returncode == 1
    assert "model 'broken-init'" in result.stderr and "weights file missing" in result.stderr


def test_run_reads_options_from_the_environment(cli):
    import os

    result = cli("run", env={**os.environ, "DEEPSERVE_MODEL": "nonexistent"})
    assert result.returncode == 1
    assert "model 'nonexistent'" in result.stderr


def test_run_logs_the_models_traceback_at_debug_level(cli):
    result = cli("run", "--log-level", "debug", "--model", "broken-import", "--port", "1")
    assert result.returncode == 1
    assert "model 'broken-import' failed to load:" in result.stderr
    assert 'broken_import.py", line 3, in <module>' in result.stderr
    info = cli("run", "--model", "broken-import", "--port", "1")
    assert "broken_import.py, line 3)" in info.stderr and "Traceback" not in info.stderr


def test_predict_help_lists_the_model_arguments(cli):
    result = cli("predict", "echo", "--help")
    assert result.returncode == 0, result.stderr
    arguments = " ".join(result.stdout.split("Arguments of the model:")[1].split())
    assert "--count INTEGER" in arguments and "[integer; 1..10; default: 1]" in arguments
    assert "--color [red|green|blue]" in arguments and "one of red, green, blue" in arguments
    assert "--numbers INTEGER" in arguments and "list of integer; repeat for several" in arguments
    assert "Text to echo. [string; required]" in arguments
    assert "--day TEXT" in arguments and "string (date)" in arguments


def test_argument_options_keep_clear_of_the_command_options():
    parameters = [
        {"name": "url", "in": "formData", "type": "string"},
        {"name": "top_k", "in": "formData", "type": "array", "items": {"type": "integer"}},
        {"name": "fast", "in": "formData", "type": "boolean", "default": False},
    ]
    options = parameter_options(parameters, taken={"--url", "--help"})
    by_name = {name: option for option, name in options.items()}
    assert by_name["url"].opts == ["--arg-url"]
    assert by_name["top_k"].opts == ["--top-k"] and by_name["top_k"].multiple
    assert by_name["fast"].flag_value == "true" and "default: false" in by_name["fast"].help
