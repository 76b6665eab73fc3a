"""``deepserve run`` as a real gunicorn process on a free loopback port."""

from __future__ import annotations

import re
import signal
from concurrent.futures import ThreadPoolExecutor

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
    assert "Control socket" not in server.output()  # gunicorn's one per user: not taken
    assert "Traceback" not in server.output()  # the workers' exit hooks included


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


def test_threaded_workers_keep_every_serving_feature(run_server, tmp_path):
    """The default: several threads per worker. Concurrent predictions, uploads, request IDs,
    auth, metrics and a training job, on two preloaded, warmed workers."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    server = run_server(
        "--workers", "2", "--model", "echo", "--model", "files", "--model", "trainer",
        "--token", "secret", "--data-dir", str(tmp_path / "data"),
        env={"TMPDIR": str(temporary)},
    )  # fmt: skip
    auth = {"Authorization": "Bearer secret"}

    def predict(n: int) -> None:
        request_id = f"req-{n}"
        headers = {**auth, "X-Request-ID": request_id}
        echo = requests.post(
            server.url + "/v2/models/echo/predict/", json={"text": str(n)}, headers=headers
        )
        assert echo.status_code == 200 and echo.json()["text"] == str(n)
        assert echo.headers["X-Request-ID"] == request_id
        upload = requests.post(
            server.url + "/v2/models/files/predict/",
            files={"data": ("n.txt", b"x" * n)},
            headers=auth,
        )
        assert upload.status_code == 200 and upload.json()["predictions"]["size"] == n

    job = requests.post(server.url + "/v2/models/trainer/train/", json={"seconds": 0}, headers=auth)
    assert job.status_code == 202
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(predict, range(1, 41)))
    assert requests.post(server.url + "/v2/models/echo/predict/?text=a").status_code == 401
    metrics = requests.get(server.url + "/metrics", headers=auth).text
    for model in ("echo", "files"):
        route = f'model="{model}",route="/v2/models/<name>/predict/",status="200"'
        assert f'deepserve_requests_total{{method="POST",{route}}} 40.0' in metrics
    assert server.stop() == 0
    assert len(set(re.findall(r"warming model 'echo' in worker (\d+)", server.output()))) == 2
    assert not [path for path in temporary.rglob("*") if path.is_file()]  # uploads removed
