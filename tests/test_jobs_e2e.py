"""Training jobs through a real ``deepserve run`` server (gunicorn, several workers)."""

from __future__ import annotations

import os
import re
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from deepserve.jobs.store import FINISHED

pytestmark = pytest.mark.e2e


def killed_server_said(error: str, job_pid: int) -> bool:
    """Whether ``error`` says what happened to a job whose server was SIGKILLed: its
    supervisor saw the server vanish and stopped the job, or died with it and the next
    server's supervisor found the job left running (whichever came first)."""
    stopped = (
        r"The server \(pid \d+\) died while the job was running; its job supervisor "
        r"stopped the job\."
    )
    left = (
        r"The server whose supervisor ran the job \(supervisor@.+\) ended without stopping it: "
        r"it was killed, or its machine stopped \(the last heartbeat was \d+ s before this "
        rf"supervisor started; its process \(pid {job_pid}\) (is gone|still exists)\)\."
    )
    return re.fullmatch(f"{stopped}|{left}", error) is not None


class Jobs:
    """The trainer model's training routes on a running server."""

    def __init__(self, server) -> None:
        self.url = f"{server.url}/v2/models/trainer/train/"

    def submit(self, **data) -> str:
        response = requests.post(self.url, data=data, timeout=10)
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def get(self, job_id: str) -> dict:
        response = requests.get(self.url + job_id, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def list(self) -> list[str]:
        response = requests.get(self.url, timeout=10)
        assert response.status_code == 200, response.text
        return [job["id"] for job in response.json()["jobs"]]

    def finished(self, wait, job_id: str, timeout: float = 30) -> dict:
        return wait(lambda: (job := self.get(job_id))["status"] in FINISHED and job, timeout)

    def training_pid(self, wait, job_id: str) -> int:
        """The process id of a running job (the trainer model reports it first thing)."""
        return wait(lambda: (self.get(job_id)["metrics"] or {}).get("pid"))


def serve(run_server, tmp_path, *args: str):
    server = run_server(
        "--workers", "2", "--model", "trainer", "--model", "slow", "--data-dir",
        str(tmp_path / "data"), *args,
    )  # fmt: skip
    return server, Jobs(server)


def test_every_worker_sees_and_cancels_the_same_jobs(run_server, tmp_path, wait, gone):
    server, jobs = serve(run_server, tmp_path, "--threads", "1")
    job_id = jobs.submit(mode="sleep", seconds="60")

    def slow_pid(_):
        response = requests.post(f"{server.url}/v2/models/slow/predict/?seconds=0.5", timeout=10)
        return response.json()["predictions"]["pid"]

    # Two slow predictions at once usually occupy both (single-threaded) workers, so both answer
    # (a worker busy for over 20 ms may take the second one: tried again); meanwhile, and after,
    # 20 GETs and a list go to whichever worker is free.
    workers = set()
    with ThreadPoolExecutor(4) as pool:
        for _ in range(10):
            slow = pool.map(slow_pid, range(2))
            seen = list(pool.map(lambda _: jobs.get(job_id)["id"], range(20)))
            listed = jobs.list()
            workers.update(slow)
            assert seen == [job_id] * 20
            assert listed == [job_id]
            if len(workers) == 2:
                break
    assert len(workers) == 2

    pid = jobs.training_pid(wait, job_id)
    response = requests.delete(jobs.url + job_id, timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    wait(lambda: gone(pid), timeout=2)
    assert jobs.get(job_id)["status"] == "cancelled"


def test_after_a_crash_running_jobs_are_interrupted_and_queued_ones_run(
    run_server, tmp_path, wait, gone
):
    server, jobs = serve(run_server, tmp_path)
    running = jobs.submit(mode="sleep", seconds="60")
    pid = jobs.training_pid(wait, running)
    queued = jobs.submit(mode="ok", label="survivor")
    assert jobs.get(queued)["status"] == "queued"
    server.stop(signal.SIGKILL)
    wait(lambda: gone(pid), timeout=10)  # no training outlives its server

    _, jobs = serve(run_server, tmp_path)
    interrupted = jobs.finished(wait, running)
    assert interrupted["status"] == "interrupted"
    assert killed_server_said(interrupted["error"], pid), interrupted["error"]
    survivor = jobs.finished(wait, queued)
    assert survivor["status"] == "done"
    assert survivor["result"]["label"] == "survivor"


def test_with_max_jobs_1_the_second_job_waits_then_runs(run_server, tmp_path, wait):
    server = run_server(
        "--model", "trainer", env={"DEEPSERVE_MAX_JOBS": "1", "DEEPSERVE_DATA_DIR": str(tmp_path)}
    )
    jobs = Jobs(server)
    assert (tmp_path / "jobs.db").is_file()
    first = jobs.submit(mode="sleep", seconds="1")
    jobs.training_pid(wait, first)
    second = jobs.submit(mode="ok")
    assert jobs.get(second)["status"] == "queued"
    assert jobs.finished(wait, first)["status"] == "done"
    done = jobs.finished(wait, second)
    assert done["status"] == "done"
    assert done["started"] >= jobs.get(first)["finished"]


def test_predictions_are_answered_while_a_cpu_bound_training_runs(run_server, tmp_path, wait):
    server, jobs = serve(run_server, tmp_path)
    job_id = jobs.submit(mode="ok", seconds="3")
    jobs.training_pid(wait, job_id)
    answers = []
    stop = threading.Event()

    def predict():
        while not stop.is_set():
            response = requests.post(f"{server.url}/v2/models/slow/predict/?seconds=0", timeout=10)
            answers.append((response.status_code, jobs.get(job_id)["status"]))

    thread = threading.Thread(target=predict)
    thread.start()
    try:
        done = jobs.finished(wait, job_id)
    finally:
        stop.set()
        thread.join()
    assert done["status"] == "done"
    assert "running" in {status for _, status in answers}
    assert {code for code, _ in answers} == {200}


def parent_pid(pid: int) -> int:
    """The parent of process ``pid`` (Linux)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_a_killed_supervisor_is_restarted_and_the_jobs_heal(run_server, tmp_path, wait, gone):
    # A timeout the restarted supervisor beats even on a loaded machine: it, not a reader of
    # the stale heartbeat, interrupts the job, and says how its predecessor ended.
    server, jobs = serve(run_server, tmp_path, "--heartbeat-timeout", "20")
    running = jobs.submit(mode="sleep", seconds="60")
    pid = jobs.training_pid(wait, running)
    supervisor = parent_pid(pid)
    queued = jobs.submit(mode="ok", label="queued")
    os.kill(supervisor, signal.SIGKILL)

    interrupted = jobs.finished(wait, running, timeout=20)  # within the heartbeat timeout
    assert interrupted["status"] == "interrupted"
    assert re.fullmatch(
        r"The job supervisor was killed by SIGKILL while the job was running \(the last "
        rf"heartbeat was \d+ s before this supervisor started; its process \(pid {pid}\) "
        r"(is gone|still exists)\)\.",  # the job ends itself within a second of its runner
        interrupted["error"],
    ), interrupted["error"]
    assert jobs.finished(wait, queued)["status"] == "done"

    def submitted() -> str | None:  # 503 while the supervisor is restarting
        response = requests.post(jobs.url, data={"mode": "ok", "label": "new"}, timeout=10)
        assert response.status_code in (202, 503), response.text
        return response.json()["id"] if response.status_code == 202 else None

    assert jobs.finished(wait, wait(submitted))["result"]["label"] == "new"
    assert requests.get(server.url + "/v2/health/ready", timeout=10).status_code == 200
    log = server.output()
    assert f"[ERROR] the job supervisor (pid {supervisor}) was killed by SIGKILL" in log
    assert server.process.poll() is None  # the same server throughout
