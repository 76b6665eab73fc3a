"""The server's job helper watched and restarted (what the gunicorn master does, driven here
step by step), and what the API says meanwhile: readiness, 503 and 429 on submit, why a queued
job waits, and running jobs whose runner died."""

from __future__ import annotations

import io
import logging
import os
import signal
import socket
import uuid

import pytest

from deepserve.api import create_app
from deepserve.jobs.backend import LocalBackend
from deepserve.jobs.helper import HelperProcess
from deepserve.jobs.store import FINISHED, JobStore
from deepserve.settings import Settings

TRAIN = "/v2/models/trainer/train/"
PREDICT = "/v2/models/trainer/predict/"


@pytest.fixture
def store(tmp_path) -> JobStore:
    store = JobStore(tmp_path / "data")
    yield store
    store.close()


@pytest.fixture
def helpers():
    """Helpers started by a test are stopped at its end."""
    started: list[HelperProcess] = []
    yield started.append
    for helper in started:
        helper.stop()


def serve(discovery, backend):
    """The API of every test model (ready: not warmed) with its jobs on ``backend``."""
    return create_app(discovery.models, Settings(warm=False), jobs=backend).test_client()


def kill(helper: HelperProcess, wait, gone) -> int:
    """SIGKILL the helper and let the watchdog notice; return the dead helper's pid."""
    pid = helper.process.pid
    os.kill(pid, signal.SIGKILL)
    wait(lambda: gone(pid))
    helper.reap()  # what the master does on SIGCHLD, before gunicorn's own reaping
    return pid


def restarted(helper: HelperProcess, wait, dead_pid: int) -> int:
    """Run the watchdog until it restarted the helper; return the new pid."""
    wait(lambda: helper.watch() or (helper.outage() is None and helper.process.pid))
    assert helper.process.pid != dead_pid
    return helper.process.pid


def test_a_dead_helper_is_logged_and_restarted_with_back_off(store, helpers, wait, gone, caplog):
    helper = LocalBackend(store).helper(["trainer"], "warning", "text")
    helpers(helper)
    assert helper.outage().reason == "the job supervisor has not started yet"
    helper.start()
    assert helper.outage() is None

    first = kill(helper, wait, gone)
    outage = helper.outage()
    assert outage.reason == "the job supervisor was killed by SIGKILL"
    assert 0 < outage.retry_after <= 1
    with caplog.at_level(logging.ERROR, logger="deepserve"):
        second = restarted(helper, wait, first)
    assert caplog.messages == [
        f"the job supervisor (pid {first}) was killed by SIGKILL; restarting it in 1 s"
    ]
    caplog.clear()

    kill(helper, wait, gone)  # dies again at once: the next restart waits longer
    with caplog.at_level(logging.ERROR, logger="deepserve"):
        restarted(helper, wait, second)
    assert caplog.messages == [
        f"the job supervisor (pid {second}) was killed by SIGKILL; restarting it in 2 s"
    ]


def test_a_helper_that_cannot_be_started_again_is_retried(store, helpers, wait, gone, caplog):
    helper = LocalBackend(store).helper(["trainer"], "warning", "text")
    helpers(helper)
    helper.start()
    command = helper.command
    helper.command = [str(store.data_dir / "no-such-python"), *command[1:]]
    dead = kill(helper, wait, gone)
    with caplog.at_level(logging.ERROR, logger="deepserve"):
        wait(lambda: helper.watch() or len(caplog.messages) == 2)
    assert caplog.messages[1].startswith("cannot restart the job supervisor ([Errno 2] ")
    assert caplog.messages[1].endswith("; retrying in 2 s")
    assert helper.outage().reason == "the job supervisor was killed by SIGKILL"
    helper.command = command
    restarted(helper, wait, dead)


def test_while_the_supervisor_is_down_readiness_and_submissions_say_so(
    discovery, store, helpers, wait, gone
):
    backend = LocalBackend(store)
    helper = backend.helper(["trainer"], "warning", "text")
    helpers(helper)
    helper.start()
    api = serve(discovery, backend)
    ready = api.get("/v2/health/ready")
    assert ready.status_code == 200
    assert ready.json["jobs"] == {"ready": True, "reason": None}

    dead = kill(helper, wait, gone)
    ready = api.get("/v2/health/ready")
    assert ready.status_code == 503
    reason = "the job supervisor was killed by SIGKILL"
    assert ready.json["jobs"] == {"ready": False, "reason": reason}
    refused = api.post(TRAIN, data={"mode": "ok"})
    assert refused.status_code == 503
    assert refused.json == {
        "message": f"Training jobs cannot be queued now: {reason}; try again later."
    }
    assert refused.headers["Retry-After"] == "1"
    assert api.get(TRAIN).json == {"jobs": []}  # nothing was created

    waiting = store.create(uuid.uuid4().hex, "trainer", {"mode": "ok"})  # queued before
    assert api.get(TRAIN + waiting.id).json["message"] == (
        f"The job waits: {reason} and is restarted in 1 s."
    )
    restarted(helper, wait, dead)
    assert api.get("/v2/health/ready").status_code == 200
    done = wait(lambda: (job := api.get(TRAIN + waiting.id).json)["status"] in FINISHED and job)
    assert (done["status"], done["progress"]) == ("done", 1.0)
    assert api.post(TRAIN, data={"mode": "ok"}).status_code == 202


def test_queued_jobs_say_why_no_supervisor_runs_them(discovery, store, start_supervisor, wait):
    api = serve(discovery, LocalBackend(store))
    submitted = api.post(TRAIN, data={"mode": "ok"}).json
    assert submitted["message"] == (
        f"No server runs the jobs of {store.data_dir}: the job waits until one "
        "serving model 'trainer' starts with this data directory."
    )
    assert "jobs" not in api.get("/v2/health/ready").json  # no helper here

    other = start_supervisor("--data-dir", str(store.data_dir), "iris")
    elsewhere = (
        f"Another server (pid {os.getpid()}) holds the job supervisor lock of "
        f"{store.data_dir} and does not serve model 'trainer': the job waits until that "
        "server stops and one serving 'trainer' takes over."
    )
    job = TRAIN + submitted["id"]
    wait(lambda: api.get(job).json["message"] == elsewhere)
    assert api.get(TRAIN).json["jobs"][0]["message"] == elsewhere

    start_supervisor("--data-dir", str(store.data_dir), "trainer", "iris")  # waits its turn
    other.terminate()
    other.wait(15)
    done = wait(lambda: (found := api.get(job).json)["status"] in FINISHED and found)
    assert (done["status"], done["message"]) == ("done", "finished")


def test_a_full_queue_answers_429_with_retry_after_and_keeps_nothing(discovery, store):
    api = serve(discovery, LocalBackend(store, max_queued_jobs=2))

    def submit():
        upload = {"data": (io.BytesIO(b"1,2\n"), "rows.csv"), "mode": "ok"}
        return api.post(TRAIN, data=upload)

    accepted = [submit().json["id"] for _ in range(2)]
    refused = submit()
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "10"
    assert refused.json == {
        "message": "2 jobs are queued already, the most this server accepts; try again later."
    }
    assert [job["id"] for job in api.get(TRAIN).json["jobs"]] == accepted[::-1]
    assert {path.name for path in store.jobs_dir.iterdir()} == set(accepted)
    api.delete(TRAIN + accepted[0])  # a queued job less: room for one more
    assert submit().status_code == 202


def test_reading_a_job_whose_runner_died_interrupts_it(discovery, store, wait):
    api = serve(discovery, LocalBackend(store, heartbeat_timeout=0.5))
    ids = [store.create(uuid.uuid4().hex, "trainer", {"mode": "ok"}).id for _ in range(2)]
    runner = f"supervisor@{socket.gethostname()}:elsewhere"
    for job_id in ids:
        store.claim_job(job_id, runner)
    store.set_pid(ids[0], os.getpid())  # a process that exists: the runner is only silent
    first = wait(lambda: (job := api.get(TRAIN + ids[0]).json)["status"] != "running" and job)
    assert first["status"] == "interrupted"
    assert first["error"].startswith(
        f"The job's runner {runner} sent no heartbeat for more than 0.5 s: it is stuck, or "
        "cannot reach the job database (the last heartbeat was "
    )
    assert first["error"].endswith(f" s ago; its process (pid {os.getpid()}) still exists).")
    assert [job["status"] for job in api.get(TRAIN).json["jobs"]] == ["interrupted"] * 2


def test_queued_jobs_say_their_slots_are_taken_and_predictions_have_their_own(
    discovery, store, start_supervisor, wait
):
    api = serve(discovery, LocalBackend(store))
    start_supervisor("--data-dir", str(store.data_dir), "trainer")  # one slot of each kind
    running, waiting = (api.post(TRAIN, data={"mode": "sleep", "seconds": "30"}) for _ in "12")
    wait(lambda: api.get(TRAIN + running.json["id"]).json["status"] == "running")
    assert api.get(TRAIN + waiting.json["id"]).json["message"] == (
        "The job waits for a free slot: 1 training job runs, the most at a time (--max-jobs 1)."
    )
    prediction = api.post(PREDICT, headers={"Prefer": "respond-async"})
    assert prediction.status_code == 202, prediction.json
    done = wait(
        lambda: (job := api.get(prediction.headers["Location"]).json)["status"] in FINISHED and job
    )
    assert done["status"] == "done"
    assert api.get(TRAIN + running.json["id"]).json["status"] == "running"
