"""``/metrics`` in the Prometheus text format, in one process and across gunicorn workers."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from deepserve.api import create_app
from deepserve.loading import discover


@pytest.fixture
def app():
    return create_app(discover(["echo", "failing"]).models)


IN_FLIGHT = "deepserve_requests_in_flight"


def samples(text: str) -> dict:
    """``{(name, frozenset(labels.items())): value}`` of a scrape."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scrape: dict, name: str, **labels) -> float | None:
    return scrape.get((name, frozenset(labels.items())))


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    return samples(response.get_data(as_text=True))


def test_requests_are_counted_by_model_route_method_and_status(app):
    client = app.test_client()
    client.post("/v2/models/echo/predict/?text=a")
    client.post("/v2/models/echo/predict/?text=b")
    client.post("/v2/models/echo/predict/")  # 422
    client.post("/v2/models/failing/predict/")  # 500
    client.get("/v2/models/")
    metrics = scrape(client)
    predict = {"model": "echo", "route": "/v2/models/<name>/predict/", "method": "POST"}
    assert value(metrics, "deepserve_requests_total", **predict, status="200") == 2
    assert value(metrics, "deepserve_requests_total", **predict, status="422") == 1
    failing = {**predict, "model": "failing", "status": "500"}
    assert value(metrics, "deepserve_requests_total", **failing) == 1
    listing = {"model": "", "route": "/v2/models/", "method": "GET", "status": "200"}
    assert value(metrics, "deepserve_requests_total", **listing) == 1


def test_unknown_urls_share_one_label_set(app):
    client = app.test_client()
    for path in ("/a", "/b", "/v2/models/nope/x"):
        client.get(path)
    metrics = scrape(client)
    unmatched = {"model": "", "route": "", "method": "", "status": "404"}
    assert value(metrics, "deepserve_requests_total", **unmatched) == 2
    catch_all = [labels for name, labels in metrics if name == "deepserve_requests_total"]
    assert not any("nope" in dict(labels)["route"] for labels in catch_all)


def test_predict_latency_histogram(app):
    client = app.test_client()
    for _ in range(3):
        client.post("/v2/models/echo/predict/?text=a")
    metrics = scrape(client)
    assert value(metrics, "deepserve_predict_duration_seconds_count", model="echo") == 3
    assert value(metrics, "deepserve_predict_duration_seconds_bucket", model="echo", le="+Inf") == 3
    assert value(metrics, "deepserve_predict_duration_seconds_sum", model="echo") > 0


def test_in_flight_counts_the_scrape_itself(app):
    assert value(scrape(app.test_client()), IN_FLIGHT) == 1
    assert value(scrape(app.test_client()), IN_FLIGHT) == 1  # back down


def test_load_failures(app):
    app.extensions["deepserve"]["metrics"].record_load_failures(["broken-args"])
    metrics = scrape(app.test_client())
    assert value(metrics, "deepserve_model_load_failures", model="broken-args") == 1


def test_training_jobs_by_status_are_read_from_the_job_store(tmp_path):
    client = create_app(discover(["trainer"]).models, data_dir=tmp_path).test_client()
    before = scrape(client)
    assert value(before, "deepserve_training_jobs", status="queued") == 0
    assert value(before, "deepserve_training_jobs", status="interrupted") == 0
    for _ in range(2):  # no supervisor here: they stay queued
        assert client.post("/v2/models/trainer/train/?seconds=0").status_code == 202
    assert value(scrape(client), "deepserve_training_jobs", status="queued") == 2


def test_no_training_jobs_metric_without_a_model_that_trains(app):
    assert not any(name == "deepserve_training_jobs" for name, _ in scrape(app.test_client()))


def test_each_app_has_its_own_registry(app):
    app.test_client().post("/v2/models/echo/predict/?text=a")
    other = create_app(discover(["echo"]).models).test_client()
    route = {"model": "echo", "route": "/v2/models/<name>/predict/", "method": "POST"}
    assert value(scrape(other), "deepserve_requests_total", **route, status="200") is None


@pytest.mark.e2e
def test_metrics_add_up_across_workers_in_a_private_directory(run_server, tmp_path):
    # no --model: the broken test models are rejected and reported; --no-warm: the examples'
    # warm() (fitting regressors) is not what this test measures, and is slow on a busy machine;
    # one thread per worker: a worker busy sleeping cannot take the other request
    server = run_server(
        "--workers", "2", "--threads", "1", "--no-warm", env={"TMPDIR": str(tmp_path)}
    )
    directories = list(tmp_path.glob("deepserve-server-*/deepserve-metrics-*"))
    assert len(directories) == 1
    assert stat.S_IMODE(os.stat(directories[0]).st_mode) == 0o700
    pids, sent = set(), 0

    def slow_predict(_) -> int:
        answer = requests.post(server.url + "/v2/models/slow/predict/?seconds=0.5").json()
        return answer["predictions"]["pid"]

    with ThreadPoolExecutor(2) as pool:
        while len(pids) < 2 and sent < 20:  # until both workers have answered
            pids.update(pool.map(slow_predict, range(2)))
            sent += 2
    assert len(pids) == 2
    route = {"model": "slow", "route": "/v2/models/<name>/predict/", "method": "POST"}
    for _ in range(6):  # whichever worker answers the scrape sees every request
        metrics = samples(requests.get(server.url + "/metrics").text)
        assert value(metrics, "deepserve_requests_total", **route, status="200") == sent
        assert value(metrics, "deepserve_predict_duration_seconds_count", model="slow") == sent
        assert value(metrics, "deepserve_model_load_failures", model="broken-args") == 1
        assert value(metrics, IN_FLIGHT) == 1
    assert server.stop() == 0
    assert not list(tmp_path.iterdir())  # removed at exit, with the server's directory


@pytest.mark.e2e
def test_a_dead_workers_requests_in_flight_are_forgotten(run_server, wait):
    server = run_server("--workers", "2", "--model", "slow", "--timeout", "60")

    def slow_request():
        with contextlib.suppress(requests.ConnectionError):  # its worker gets killed
            requests.post(server.url + "/v2/models/slow/predict/?seconds=20", timeout=60)

    busy = threading.Thread(target=slow_request)
    busy.start()

    def in_flight() -> float | None:
        with contextlib.suppress(requests.ConnectionError):  # while workers restart
            return value(samples(requests.get(server.url + "/metrics").text), IN_FLIGHT)
        return None

    wait(lambda: in_flight() == 2)  # the slow request and this scrape
    workers = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    for pid in workers.read_text().split():
        os.kill(int(pid), signal.SIGKILL)  # gunicorn reaps them and starts new ones
    busy.join()
    # once new workers answer and the master has reaped the old ones: only the scrape counts
    wait(lambda: in_flight() == 1)
