"""Training on Celery workers: two real ``deepserve run --jobs celery`` replicas and real
``deepserve worker`` processes, sharing a PostgreSQL database, a Redis broker and a data
directory (all on this machine: see docs/scaling.md for what that does not prove)."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import time
import uuid
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from servers import free_port

from deepserve.api import create_app
from deepserve.jobs.backend import LocalBackend
from deepserve.jobs.backends import open_backend
from deepserve.jobs.store import FINISHED, JobStore

pytestmark = pytest.mark.e2e

HEARTBEAT_TIMEOUT = "5"


class Cluster:
    """A shared database, broker and data directory, and the processes using them."""

    def __init__(self, postgres, redis, data_dir: Path, run_server, start_worker) -> None:
        self.database = postgres.new_database()
        self.broker = redis.url()
        self.data_dir = data_dir
        self._run_server = run_server
        self._start_worker = start_worker

    def shared(self) -> list[str]:
        return [
            "--broker", self.broker, "--database", self.database, "--data-dir",
            str(self.data_dir), "--heartbeat-timeout", HEARTBEAT_TIMEOUT,
        ]  # fmt: skip

    def replica(self, *models: str) -> Replica:
        """A ``deepserve run`` serving ``models`` (default: trainer), jobs on Celery."""
        return Replica(self._run_server("--jobs", "celery", *_models(models), *self.shared()))

    def worker(self, *models: str, kind: str | None = None):
        """A ``deepserve worker`` running the jobs of ``models`` (default: trainer), of one
        ``kind`` if given, one job at a time."""
        kinds = ["--kind", kind] if kind else []
        return self._start_worker(*_models(models), *kinds, *self.shared())


def _models(names: tuple[str, ...]) -> list[str]:
    return [arg for name in names or ("trainer",) for arg in ("--model", name)]


class Replica:
    """The training routes of one replica."""

    def __init__(self, server) -> None:
        self.server = server
        self.url = f"{server.url}/v2/models/trainer/train/"

    def submit(self, model: str = "trainer", **data) -> str:
        response = requests.post(
            f"{self.server.url}/v2/models/{model}/train/", data=data, timeout=30
        )
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def get(self, job_id: str, model: str = "trainer") -> dict:
        response = requests.get(f"{self.server.url}/v2/models/{model}/train/{job_id}", timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def finished(self, wait, job_id: str, model: str = "trainer", timeout: float = 30) -> dict:
        return wait(lambda: (job := self.get(job_id, model))["status"] in FINISHED and job, timeout)

    def training_pid(self, wait, job_id: str) -> int:
        """The process id of a running trainer job (it reports it first thing)."""
        return wait(lambda: (self.get(job_id)["metrics"] or {}).get("pid"))


@pytest.fixture
def cluster(postgres, redis, tmp_path, run_server, start_worker) -> Cluster:
    return Cluster(postgres, redis, tmp_path / "shared", run_server, start_worker)


def test_a_job_created_through_one_replica_is_watched_and_cancelled_through_another(
    cluster, wait, gone
):
    a, b = cluster.replica(), cluster.replica()
    cluster.worker()
    upload = {"data": ("rows.csv", io.BytesIO(b"a,b\n1,2\n"), "text/csv")}
    response = requests.post(a.url, data={"mode": "print", "label": "via A"}, files=upload)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]

    done = b.finished(wait, job_id)
    assert done["status"] == "done", done
    assert done["result"]["label"] == "via A"
    assert done["result"]["data"]["content"] == "a,b\n1,2\n"  # the upload reached the worker
    assert done["progress"] == 1.0 and done["metrics"]["loss"] == 0.1
    assert [job["id"] for job in requests.get(b.url, timeout=10).json()["jobs"]] == [job_id]
    log = requests.get(b.url + job_id + "/log", timeout=10).text
    assert "to stdout: epoch 1" in log and "to stderr: warning" in log

    running = a.submit(mode="sleep", seconds="60")
    pid = b.training_pid(wait, running)
    queued = a.submit(mode="ok")
    assert b.get(queued)["status"] == "queued"  # the worker runs one job at a time
    assert b.get(queued)["message"] == (
        "The job waits for a free slot: the Celery workers running model 'trainer' run 1 job, "
        "the most they take at a time (their --max-jobs)."
    )
    for job_id in (queued, running):
        response = requests.delete(b.url + job_id, timeout=10)
        assert response.status_code == 200
        assert response.json()["status"] == "cancelled"
    wait(lambda: gone(pid), timeout=10)
    assert a.get(running)["status"] == "cancelled"
    follower = b.submit(mode="ok", label="after the cancels")
    assert a.finished(wait, follower)["result"]["label"] == "after the cancels"
    assert a.get(queued)["started"] is None


def test_a_worker_killed_mid_job_leaves_the_job_interrupted(cluster, wait, gone):
    a = cluster.replica()
    worker = cluster.worker()
    job_id = a.submit(mode="sleep", seconds="60")
    pid = a.training_pid(wait, job_id)
    waiting = a.submit(mode="ok", label="next")
    worker.send_signal(signal.SIGKILL)
    wait(lambda: gone(pid), timeout=10)  # the job ended itself with its worker

    interrupted = a.finished(wait, job_id)  # the replica's reaper, after the heartbeat timeout
    assert interrupted["status"] == "interrupted"
    assert re.fullmatch(
        rf"The job's runner deepserve\.{worker.pid}@{re.escape(socket.gethostname())} sent no "
        r"heartbeat for more than 5 s: it died \(killed, or crashed\) while the job was running "
        rf"\(the last heartbeat was \d+ s ago; its process \(pid {pid}\) is gone\)\.",
        interrupted["error"],
    ), interrupted["error"]
    assert not (cluster.data_dir / "jobs" / job_id / "files").exists()
    no_worker = (
        "No Celery worker runs the training jobs of model 'trainer' (none was seen in the last "
        "5 s): the job waits until one starts (deepserve worker --model trainer --kind train)."
    )
    wait(lambda: a.get(waiting)["message"] == no_worker)

    cluster.worker()
    assert a.get(waiting)["status"] == "queued"
    assert a.finished(wait, waiting)["status"] == "done"


def test_a_stopped_worker_interrupts_its_jobs(cluster, wait, gone):
    a = cluster.replica()
    worker = cluster.worker()
    job_id = a.submit(mode="sleep", seconds="60")
    pid = a.training_pid(wait, job_id)
    worker.terminate()
    assert worker.wait(20) == 0
    assert gone(pid)
    job = a.get(job_id)
    assert (job["status"], job["error"]) == (
        "interrupted",
        "The worker stopped while the job was running.",
    )


def test_a_job_waits_while_its_worker_cannot_reach_the_database(cluster, postgres, wait):
    a = cluster.replica()
    cluster.worker()
    assert a.finished(wait, a.submit(mode="ok"))["status"] == "done"  # the worker is up
    store = JobStore(cluster.data_dir, cluster.database)
    job = store.create(uuid.uuid4().hex, "trainer", {"mode": "ok", "label": "late"})
    postgres.allow_connections(cluster.database, False)
    open_backend("celery", store, broker=cluster.broker).submit(job)
    time.sleep(3)  # the worker received the task, and could not claim the job
    postgres.allow_connections(cluster.database, True)
    done = a.finished(wait, job.id)
    assert (done["status"], done["result"]["label"]) == ("done", "late")
    store.close()


def test_jobs_go_to_the_workers_of_their_model(cluster, wait):
    a = cluster.replica("trainer", "iris")
    cluster.worker("trainer")
    iris = a.submit("iris", C="0.5")
    trainer = a.submit(mode="ok")
    assert a.finished(wait, trainer)["status"] == "done"
    assert a.get(iris, "iris")["status"] == "queued"  # no worker trains iris yet
    assert a.get(iris, "iris")["message"].startswith(
        "No Celery worker runs the training jobs of model 'iris'"
    )
    cluster.worker("iris")
    done = a.finished(wait, iris, "iris")
    assert done["status"] == "done", done


def test_a_prediction_worker_runs_predictions_while_a_training_runs(cluster, wait):
    a = cluster.replica()
    cluster.worker(kind="train")
    training = a.submit(mode="sleep", seconds="60")
    a.training_pid(wait, training)
    predict = f"{a.server.url}/v2/models/trainer/predict/"
    response = requests.post(predict, headers={"Prefer": "respond-async"}, timeout=30)
    assert response.status_code == 202, response.text
    prediction = urljoin(predict, response.headers["Location"])
    assert requests.get(prediction, timeout=10).json()["message"] == (
        "No Celery worker runs the asynchronous predictions of model 'trainer' (none was seen "
        "in the last 5 s): the job waits until one starts (deepserve worker --model trainer "
        "--kind predict)."
    )
    cluster.worker(kind="predict")
    done = wait(
        lambda: (job := requests.get(prediction, timeout=10).json())["status"] in FINISHED and job
    )
    assert done["status"] == "done", done
    assert a.get(training)["status"] == "running"


def test_an_unreachable_broker_is_a_503_and_leaves_no_job(discovery, tmp_path, postgres):
    store = JobStore(tmp_path, postgres.new_database())
    backend = open_backend("celery", store, broker=f"redis://127.0.0.1:{free_port()}/0")
    api = create_app(discovery.models, jobs=backend).test_client()
    response = api.post("/v2/models/trainer/train/", data={"mode": "ok"})
    assert response.status_code == 503
    assert response.json == {"message": "The training job cannot be queued now; try again later."}
    assert api.get("/v2/models/trainer/train/").json == {"jobs": []}
    assert list((tmp_path / "jobs").iterdir()) == []
    store.close()


def test_the_example_nginx_config_balances_jobs_over_two_replicas(cluster, nginx, wait):
    a, b = cluster.replica(), cluster.replica()
    cluster.worker()
    url = nginx(a.server.port, b.server.port) + "/v2/models/trainer/train/"
    response = requests.post(url, data={"mode": "ok", "label": "through nginx"}, timeout=30)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    done = wait(
        lambda: (job := requests.get(url + job_id, timeout=10).json())["status"] in FINISHED and job
    )
    assert done["result"]["label"] == "through nginx"
    for _ in range(4):  # round robin: both replicas answer
        assert requests.get(url + job_id, timeout=10).json()["status"] == "done"
    for replica in (a, b):
        assert f"GET /v2/models/trainer/train/{job_id}" in replica.server.output()


def test_unreachable_job_records_are_a_503(discovery, tmp_path, postgres):
    url = postgres.new_database()
    store = JobStore(tmp_path, url)
    api = create_app(discovery.models, jobs=LocalBackend(store)).test_client()
    train = "/v2/models/trainer/train/"
    assert api.get(train).status_code == 200
    postgres.allow_connections(url, False)
    for method, path in [("get", train), ("post", train), ("get", train + "0" * 32)]:
        response = getattr(api, method)(path)
        assert response.status_code == 503
        message = "The job records cannot be reached now; try again later."
        assert response.json == {"message": message}
    assert list((tmp_path / "jobs").iterdir()) == []  # the failed POST left nothing
    postgres.allow_connections(url, True)
    assert api.get(train).json == {"jobs": []}
    store.close()


def maintenance_pid(server) -> int | None:
    """The process id of a replica's job maintenance helper (Linux), if it runs."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError):
            continue
        if parent == server.process.pid and b"deepserve.jobs.maintenance" in command:
            return int(stat.parent.name)
    return None


def test_a_killed_maintenance_helper_is_restarted_and_the_jobs_heal(cluster, wait, gone):
    a = cluster.replica()
    worker = cluster.worker()
    running = a.submit(mode="sleep", seconds="60")
    pid = a.training_pid(wait, running)
    queued = a.submit(mode="ok", label="queued")
    helper = maintenance_pid(a.server)
    os.kill(helper, signal.SIGKILL)
    worker.send_signal(signal.SIGKILL)  # and the job's runner with it
    wait(lambda: gone(pid), timeout=10)

    interrupted = a.finished(wait, running, timeout=int(HEARTBEAT_TIMEOUT) + 5)
    assert interrupted["status"] == "interrupted"
    assert interrupted["error"].startswith(f"The job's runner deepserve.{worker.pid}@")
    restarted = wait(lambda: (found := maintenance_pid(a.server)) not in (None, helper) and found)
    log = a.server.output()
    assert f"[ERROR] the job maintenance (pid {helper}) was killed by SIGKILL" in log
    assert "job maintenance restarted: the previous one was killed by SIGKILL" in log
    assert not gone(restarted)

    cluster.worker()
    assert a.finished(wait, queued)["result"]["label"] == "queued"
    assert a.finished(wait, a.submit(mode="ok"))["status"] == "done"
    assert a.server.process.poll() is None  # the same replica throughout
