"""``deepserve run`` as a real gunicorn process on a free loopback port."""

from __future__ import annotations

import re
import signal

import pytest
import requests

pytestmark = pytest.mark.e2e


def test_serves_models_with_two_workers_and_shuts_down_cleanly(run_server):
    server = run_server("--workers", "2", "--model", "echo", "--model", "slow", "--model", "files")
    response = requests.post(server.url + "/v2/models/echo/predict/", data={"text": "hi"})
    assert response.status_code == 200 and response.json()["text"] == "hi"
    upload = requests.post(
        server.url + "/v2/models/files/predict/", files={"data": ("a.txt", b"12345")}
    )
    assert upload.json()["predictions"]["size"] == 5
    slow = requests.post(server.url + "/v2/models/slow/predict/?seconds=0").json()["predictions"]
    assert slow["warmed"] == slow["pid"]  # warm() ran in the worker that answered
    models = requests.get(server.url + "/v2/models/").json()["models"]
    assert sorted(m["id"] for m in models) == ["echo", "files", "slow"]
    assert requests.get(server.url + "/nowhere").json()["message"]
    assert server.stop(signal.SIGTERM) == 0
    warmed = set(re.findall(r"warming model 'slow' in worker (\d+)", server.output()))
    assert len(warmed) == 2  # once in each serving process


def test_models_are_loaded_once_before_the_workers_fork(run_server):
    server = run_server("--workers", "2", "--model", "slow")
    answer = requests.post(server.url + "/v2/models/slow/predict/?seconds=0").json()["predictions"]
    assert answer["loaded"] == server.process.pid != answer["pid"]


def test_without_preload_each_worker_loads_its_own_models(run_server):
    server = run_server("--workers", "2", "--model", "slow", "--no-preload")
    answers = [
        requests.post(server.url + "/v2/models/slow/predict/?seconds=0").json()["predictions"]
        for _ in range(6)
    ]
    assert all(a["loaded"] == a["warmed"] == a["pid"] != server.process.pid for a in answers)
    assert requests.get(server.url + "/v2/health/ready").json()["ready"] is True
    assert server.stop(signal.SIGTERM) == 0
    loaded = set(re.findall(r"loading the models in worker (\d+)", server.output()))
    assert len(loaded) == 2


def test_ctrl_c_stops_the_server(run_server):
    server = run_server("--model", "echo", "--no-warm")
    assert requests.get(server.url + "/v2/").ok
    assert server.stop(signal.SIGINT) == 0


def test_a_failing_warm_stops_start_up_with_the_reason(run_server):
    with pytest.raises(RuntimeError, match="exited early") as raised:
        run_server("--model", "slow", env={"SLOW_WARM_FAIL": "1"}, ready_timeout=30)
    assert "cannot reach the GPU" in str(raised.value)


def test_no_warm_skips_warm(run_server):
    server = run_server("--model", "slow", "--no-warm", env={"SLOW_WARM_FAIL": "1"})
    body = requests.post(server.url + "/v2/models/slow/predict/?seconds=0").json()
    assert body["predictions"]["warmed"] is None
