"""The supervisor process: starting, reaping, stopping and recovering training jobs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from deepserve.jobs.store import (
    CANCELLED,
    DONE,
    ERROR,
    FINISHED,
    INTERRUPTED,
    PREDICT,
    QUEUED,
    RUNNING,
    JobStore,
)
from deepserve.jobs.supervisor import INTERRUPTED_MESSAGE, owner_name


@pytest.fixture
def store(tmp_path) -> JobStore:
    return JobStore(tmp_path / "data")


@pytest.fixture
def supervise(store, start_supervisor):
    """Start a supervisor of ``store`` (the trainer model unless told otherwise)."""

    def start(*args: str, models: tuple[str, ...] = ("trainer",)) -> subprocess.Popen:
        return start_supervisor("--data-dir", str(store.data_dir), *args, *models)

    return start


def queue(store: JobStore, model: str = "trainer", **args) -> str:
    job_id = uuid.uuid4().hex
    store.create(job_id, model, args)
    return job_id


def status_is(store: JobStore, job_id: str, *statuses: str):
    return lambda: (job := store.get(job_id)).status in statuses and job


def training_pid(store: JobStore, wait, job_id: str) -> int:
    """The process id of a running trainer job (it reports it first thing)."""
    return wait(lambda: (store.get(job_id).metrics or {}).get("pid"))


def test_runs_queued_jobs_in_order(store, supervise, wait):
    first = queue(store, label="1")
    second = queue(store, label="2")
    supervise()
    done = [wait(status_is(store, job_id, *FINISHED)) for job_id in (first, second)]
    assert [job.status for job in done] == [DONE, DONE]
    assert [job.result["label"] for job in done] == ["1", "2"]
    assert done[0].finished <= done[1].started


def test_runs_up_to_max_jobs_at_once(store, supervise, wait):
    ids = [queue(store, mode="sleep", seconds=30) for _ in range(3)]
    supervise("--max-jobs", "2")
    wait(lambda: [store.get(i).status for i in ids] == [RUNNING, RUNNING, QUEUED])
    store.cancel(ids[0])
    wait(status_is(store, ids[2], RUNNING))


def test_a_running_training_does_not_keep_a_prediction_from_starting(store, supervise, wait):
    trainings = [queue(store, mode="sleep", seconds=30) for _ in range(2)]
    prediction = uuid.uuid4().hex
    store.create(prediction, "trainer", {}, kind=PREDICT, media_type="application/json")
    supervise()  # --max-jobs 1, --max-async-predictions 1
    wait(status_is(store, prediction, *FINISHED))
    assert [store.get(job_id).status for job_id in trainings] == [RUNNING, QUEUED]


def test_predictions_share_the_training_slots_with_max_async_predictions_0(store, supervise, wait):
    training = queue(store, mode="sleep", seconds=30)
    prediction = uuid.uuid4().hex
    store.create(prediction, "trainer", {}, kind=PREDICT, media_type="application/json")
    supervise("--max-async-predictions", "0")
    wait(status_is(store, training, RUNNING))
    time.sleep(1)
    assert store.get(prediction).status == QUEUED
    store.cancel(training)
    wait(status_is(store, prediction, *FINISHED))


def test_leaves_jobs_of_other_models_queued(store, supervise, wait):
    other = queue(store, model="iris")
    mine = queue(store)
    supervise()
    wait(status_is(store, mine, DONE))
    assert store.get(other).status == QUEUED


def test_a_model_that_cannot_be_loaded_is_an_error(store, supervise, wait):
    job_id = queue(store, model="ghost")
    supervise(models=("ghost",))
    job = wait(status_is(store, job_id, *FINISHED))
    assert job.status == ERROR
    assert job.error == "Model 'ghost' cannot be loaded: no such entry point is installed"


def test_jobs_left_running_by_a_dead_server_are_interrupted_at_start(store, supervise, wait):
    job_id = queue(store)
    store.claim(["trainer"], owner_name(store.data_dir))
    store.files_dir(job_id).mkdir(parents=True)
    supervise()
    job = wait(status_is(store, job_id, INTERRUPTED))
    assert job.error.startswith(
        f"The server whose supervisor ran the job ({owner_name(store.data_dir)}) ended without "
        "stopping it: it was killed, or its machine stopped (the last heartbeat was "
    )
    assert job.error.endswith(" s before this supervisor started; no job process was recorded).")
    assert not store.files_dir(job_id).exists()


def test_jobs_of_other_runners_are_interrupted_only_when_their_heartbeat_is_stale(
    store, supervise, wait
):
    theirs = queue(store)
    store.claim_job(theirs, "a Celery worker elsewhere")
    supervise("--heartbeat-timeout", "5")
    time.sleep(1.5)  # the supervisor has started and looked
    assert store.get(theirs).status == RUNNING
    job = wait(status_is(store, theirs, INTERRUPTED))
    assert job.error.startswith(
        "The job's runner a Celery worker elsewhere sent no heartbeat for more than 5 s: it "
        "died, is stuck, or cannot reach the job database (the last heartbeat was "
    )


def test_the_supervisor_keeps_the_heartbeats_of_its_jobs_fresh(store, supervise, wait):
    job_id = queue(store, mode="sleep", seconds=4)
    supervise("--heartbeat-timeout", "2.5")
    job = wait(status_is(store, job_id, *FINISHED))
    assert job.status == DONE
    assert job.worker == owner_name(store.data_dir)


def test_a_job_process_that_dies_is_an_error(store, supervise, wait):
    job_id = queue(store, mode="sleep", seconds=30)
    supervise()
    os.kill(training_pid(store, wait, job_id), signal.SIGKILL)
    job = wait(status_is(store, job_id, *FINISHED))
    assert job.status == ERROR
    assert job.error == "The job process was killed by SIGKILL (see the job log)."


def test_cancelling_stops_the_job_process(store, supervise, wait, gone):
    job_id = queue(store, mode="sleep", seconds=30)
    supervise()
    pid = training_pid(store, wait, job_id)
    store.cancel(job_id)
    wait(lambda: gone(pid), timeout=10)
    assert store.get(job_id).status == CANCELLED


def test_stopping_the_supervisor_interrupts_its_jobs(store, supervise, wait, gone):
    job_id = queue(store, mode="sleep", seconds=30)
    supervisor = supervise()
    pid = training_pid(store, wait, job_id)
    supervisor.send_signal(signal.SIGINT)
    assert supervisor.wait(15) == 0
    assert gone(pid)
    job = store.get(job_id)
    assert (job.status, job.error) == (INTERRUPTED, INTERRUPTED_MESSAGE)


def test_a_killed_supervisor_takes_its_jobs_with_it(store, supervise, wait, gone):
    job_id = queue(store, mode="sleep", seconds=30)
    waiting = queue(store)
    supervisor = supervise()
    pid = training_pid(store, wait, job_id)
    supervisor.kill()
    supervisor.wait()
    wait(lambda: gone(pid), timeout=10)  # the job noticed and ended itself
    assert store.get(job_id).status == RUNNING  # nobody could record it
    supervise()
    assert wait(status_is(store, job_id, INTERRUPTED))
    assert wait(status_is(store, waiting, DONE))


def test_the_supervisor_stops_when_its_server_dies(store, wait, gone):
    job_id = queue(store, mode="sleep", seconds=30)
    server = subprocess.Popen(  # stands for the gunicorn master
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            "p = subprocess.Popen([sys.executable, '-m', 'deepserve.jobs.supervisor', "
            f"'--data-dir', {str(store.data_dir)!r}, 'trainer'])\n"
            "print(p.pid, flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    supervisor_pid = int(server.stdout.readline())
    try:
        pid = training_pid(store, wait, job_id)
        server.kill()
        server.wait()
        wait(lambda: store.get(job_id).status == INTERRUPTED, timeout=15)
        wait(lambda: gone(pid) and gone(supervisor_pid), timeout=10)
    finally:
        server.stdout.close()
        if not gone(supervisor_pid):
            os.kill(supervisor_pid, signal.SIGKILL)


def test_a_second_supervisor_waits_for_the_first(store, supervise, wait):
    job_id = queue(store, mode="sleep", seconds=30)
    first = supervise()
    wait(status_is(store, job_id, RUNNING))
    second = supervise()
    later = queue(store)
    time.sleep(1.5)  # the second one would have interrupted the job and run the other
    assert store.get(job_id).status == RUNNING
    assert store.get(later).status == QUEUED
    first.terminate()
    first.wait(15)
    assert wait(status_is(store, later, DONE))
    assert store.get(job_id).status == INTERRUPTED
    assert second.poll() is None


def test_old_finished_jobs_are_pruned_at_start(store, supervise, wait):
    old = queue(store)
    store.claim(["trainer"], "w")
    store.finish(old, DONE)
    store.log_path(old).parent.mkdir(parents=True)
    store.log_path(old).write_text("log")
    active = queue(store, mode="sleep", seconds=30)
    time.sleep(0.2)
    supervise("--retention-days", str(0.1 / 86400))  # 0.1 s
    wait(lambda: store.get(old) is None)
    assert not store.job_dir(old).exists()
    assert store.get(active) is not None


def test_retention_zero_keeps_jobs_forever(store, supervise, wait):
    old = queue(store)
    store.claim(["trainer"], "w")
    store.finish(old, DONE)
    supervise("--retention-days", "0")
    wait(status_is(store, queue(store), DONE))
    assert store.get(old) is not None
