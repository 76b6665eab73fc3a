"""Asynchronous predictions through a real ``deepserve run`` server (gunicorn, two workers)."""

from __future__ import annotations

import signal

import pytest
import requests
from test_jobs_e2e import killed_server_said

from deepserve.jobs.store import FINISHED

pytestmark = pytest.mark.e2e


class Predictions:
    """The ``longrun`` model's asynchronous predictions on a running server."""

    def __init__(self, server) -> None:
        self.predict_url = f"{server.url}/v2/models/longrun/predict/"
        self.url = f"{server.url}/v2/models/longrun/predictions/"

    def submit(self, accept: str = "application/json", **data) -> str:
        headers = {"Prefer": "respond-async", "Accept": accept}
        response = requests.post(self.predict_url, data=data, headers=headers, timeout=10)
        assert response.status_code == 202, response.text
        assert response.headers["Preference-Applied"] == "respond-async"
        assert response.headers["Location"].endswith(f"/predictions/{response.json()['id']}")
        return response.json()["id"]

    def get(self, job_id: str) -> dict:
        response = requests.get(self.url + job_id, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def finished(self, wait, job_id: str) -> dict:
        return wait(lambda: (job := self.get(job_id))["status"] in FINISHED and job)

    def pid(self, wait, job_id: str) -> int:
        """The process id of a running prediction (the model reports it first thing)."""
        return wait(lambda: (self.get(job_id)["metrics"] or {}).get("pid"))


def serve(run_server, tmp_path):
    server = run_server(
        "--workers", "2", "--model", "longrun", "--data-dir", str(tmp_path / "data")
    )  # fmt: skip
    return server, Predictions(server)


def test_a_prediction_survives_a_server_killed_and_restarted(run_server, tmp_path, wait, gone):
    server, predictions = serve(run_server, tmp_path)
    running = predictions.submit(steps="600", seconds="0.1")
    pid = predictions.pid(wait, running)
    queued = predictions.submit(accept="image/png", steps="1")
    assert predictions.get(queued)["status"] == "queued"  # one job at a time (--max-jobs 1)
    server.stop(signal.SIGKILL)
    wait(lambda: gone(pid), timeout=10)  # no prediction outlives its server

    server, predictions = serve(run_server, tmp_path)
    interrupted = predictions.finished(wait, running)
    assert interrupted["status"] == "interrupted"
    assert killed_server_said(interrupted["error"], pid), interrupted["error"]
    assert predictions.finished(wait, queued)["status"] == "done"
    output = requests.get(predictions.url + queued + "/output", timeout=10)
    assert output.status_code == 200
    assert output.headers["Content-Type"] == "image/png"
    assert output.content.startswith(b"\x89PNG\r\n\x1a\n")
    listed = requests.get(predictions.url, timeout=10).json()["jobs"]
    assert [job["id"] for job in listed] == [queued, running]


def test_cancel_stops_the_prediction_through_any_worker(run_server, tmp_path, wait, gone):
    _, predictions = serve(run_server, tmp_path)
    job_id = predictions.submit(steps="600", seconds="0.1")
    pid = predictions.pid(wait, job_id)
    running = predictions.get(job_id)
    assert running["status"] == "running" and running["message"].startswith("step")
    response = requests.delete(predictions.url + job_id, timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    wait(lambda: gone(pid), timeout=10)
    assert predictions.get(job_id)["status"] == "cancelled"
    output = requests.get(predictions.url + job_id + "/output", timeout=10)
    assert output.status_code == 409
    assert output.json()["message"] == (
        f"Prediction '{job_id}' is cancelled: it has an output once done."
    )


def test_a_json_prediction_ends_with_what_a_synchronous_predict_answers(run_server, tmp_path, wait):
    server, predictions = serve(run_server, tmp_path)
    job_id = predictions.submit(steps="3", seconds="0")
    done = predictions.finished(wait, job_id)
    assert (done["status"], done["progress"], done["message"]) == ("done", 1.0, "step 3 of 3")
    output = requests.get(predictions.url + job_id + "/output", timeout=10)
    assert output.headers["Content-Type"] == "application/json"
    synchronous = requests.post(predictions.predict_url, data={"steps": "3"}, timeout=10).json()
    assert output.json() == done["result"]
    assert output.json()["predictions"]["steps"] == synchronous["predictions"]["steps"] == 3


def test_a_running_training_does_not_keep_an_async_prediction_from_starting(
    run_server, tmp_path, wait
):
    server = run_server(
        "--model", "longrun", "--model", "trainer", "--data-dir", str(tmp_path / "data")
    )  # fmt: skip
    predictions = Predictions(server)
    train = f"{server.url}/v2/models/trainer/train/"
    running, waiting = (
        requests.post(train, data={"mode": "sleep", "seconds": "60"}, timeout=10).json()["id"]
        for _ in range(2)
    )
    wait(lambda: requests.get(train + running, timeout=10).json()["status"] == "running")
    assert requests.get(train + waiting, timeout=10).json()["message"] == (
        "The job waits for a free slot: 1 training job runs, the most at a time (--max-jobs 1)."
    )
    done = predictions.finished(wait, predictions.submit(steps="2"))
    assert done["status"] == "done"
    assert requests.get(train + running, timeout=10).json()["status"] == "running"
