"""The remote command line (``--url``) against a real ``deepserve run`` that requires a token."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from servers import DEEPSERVE, RunningServer, run_cli

TOKEN = "remote-cli-token"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = RunningServer(
        "--model", "iris", "--model", "media", "--model", "trainer", "--model", "stream",
        "--token", TOKEN,
        log_dir=tmp_path_factory.mktemp("remote-cli-server"),
        ready_path="/v2/health/ready",
    )  # fmt: skip
    yield running
    running.stop()


def environment(server):
    """The environment of a remote command: DEEPSERVE_URL and DEEPSERVE_TOKEN set."""
    return {**os.environ, "DEEPSERVE_URL": server.url, "DEEPSERVE_TOKEN": TOKEN}


@pytest.fixture
def remote(server):
    """``deepserve ARGS...`` with DEEPSERVE_URL and DEEPSERVE_TOKEN set for ``server``."""
    return lambda *args: run_cli(*args, env=environment(server))


IRIS = ("--sepal-length", "5.1", "--sepal_width", "3.5", "--petal-length", "1.4")


def test_predict_on_a_server(remote):
    result = remote("predict", "iris", *IRIS, "--petal-width=0.2", "--top-k", "2")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["label"] == "setosa" and len(answer["probabilities"]) == 2


def test_predict_help_comes_from_the_remote_spec(remote):
    result = remote("predict", "iris", "--help")
    assert result.returncode == 0, result.stderr
    arguments = " ".join(result.stdout.split("Arguments of the model:")[1].split())
    assert "--sepal-length FLOAT" in arguments and "[number; 0.0..10.0; required]" in arguments


def test_bad_arguments_exit_2_before_any_request(remote):
    result = remote("predict", "iris", *IRIS, "--petal-width", "11")
    assert result.returncode == 2
    assert json.loads(result.stderr)["errors"] == {
        "petal_width": ["Must be less than or equal to 10.0."]
    }


def test_token_is_required_and_checked(server):
    result = run_cli("predict", "--url", server.url, "--token", "wrong", "media")
    assert result.returncode == 2
    assert json.loads(result.stderr)["message"] == "The bearer token is not valid."


def test_binary_output_to_a_file(remote, tmp_path):
    out = tmp_path / "out.png"
    result = remote("predict", "media", "--media-type", "image/png", "--output-file", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"\x89PNG")
    needs_file = remote("predict", "media", "--media-type", "image/png")
    assert needs_file.returncode == 2 and "--output-file" in needs_file.stderr


def test_unknown_remote_model_exits_1(remote):
    result = remote("predict", "irsi")
    assert result.returncode == 1
    assert "No model named 'irsi' is served; did you mean 'iris'?" in result.stderr


def test_list_on_a_server(remote):
    table = remote("list")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == ["NAME", "DESCRIPTION"]
    assert [line.split()[0] for line in table.stdout.splitlines()[1:]] == [
        "iris", "media", "stream", "trainer",
    ]  # fmt: skip
    assert {model["id"] for model in json.loads(remote("list", "--json").stdout)} == {
        "iris", "media", "stream", "trainer",
    }  # fmt: skip


def test_train_wait_and_jobs(remote):
    started = remote("train", "trainer", "--mode", "print", "--label", "cli", "--wait")
    assert started.returncode == 0, started.stderr
    job = json.loads(started.stdout)
    assert (job["status"], job["result"]["label"]) == ("done", "cli")
    listed = json.loads(remote("jobs", "trainer", "--status", "done").stdout)["jobs"]
    assert job["id"] in [found["id"] for found in listed]
    log = remote("jobs", "trainer", job["id"], "--log")
    assert "to stdout: epoch 1" in log.stdout
    failed = remote("train", "trainer", "--mode", "raise", "--wait")
    assert failed.returncode == 1
    assert json.loads(failed.stderr)["status"] == "error"


def test_train_help_and_cancel(remote):
    help_text = " ".join(remote("train", "trainer", "--help").stdout.split())
    assert "--mode [ok|raise|http|nonjson|print|sleep]" in help_text
    assert "--data FILE" in help_text
    job = json.loads(remote("train", "trainer", "--mode", "sleep", "--seconds", "60").stdout)
    cancelled = remote("jobs", "trainer", job["id"], "--cancel", "--wait")
    assert cancelled.returncode == 1
    assert json.loads(cancelled.stderr)["status"] == "cancelled"


NDJSON = ("--media-type", "application/x-ndjson")


def test_a_stream_is_printed_one_json_line_per_item_as_items_arrive(server, tmp_path):
    gate = tmp_path / "gate"  # the model waits for it before its second item
    command = [str(DEEPSERVE), "predict", "stream", "--count", "3", "--gate", str(gate), *NDJSON]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment(server)
    ) as process:
        assert json.loads(process.stdout.readline()) == {"index": 0, "text": "item 0"}
        gate.touch()
        rest = process.stdout.read().decode().splitlines()
        assert process.wait(60) == 0, process.stderr.read()
    assert [json.loads(line) for line in rest] == [
        {"index": 1, "text": "item 1"},
        {"index": 2, "text": "item 2"},
    ]


def test_a_stream_failing_midway_exits_1_after_the_items_it_gave(remote, tmp_path):
    result = remote("predict", "stream", "--count", "3", "--fail-at", "1", *NDJSON)
    assert result.returncode == 1
    assert result.stdout == '{"index": 0, "text": "item 0"}\n'
    assert "the model broke at item 1" in json.loads(result.stderr)["message"]
    collected = remote("predict", "stream", "--count", "2")  # JSON: the items collected
    assert json.loads(collected.stdout)["predictions"] == [
        {"index": 0, "text": "item 0"},
        {"index": 1, "text": "item 1"},
    ]
    out = tmp_path / "items.ndjson"
    assert (
        remote("predict", "stream", "--count", "2", *NDJSON, "--output-file", str(out)).stdout == ""
    )
    assert out.read_text().splitlines() == [
        '{"index": 0, "text": "item 0"}',
        '{"index": 1, "text": "item 1"}',
    ]
