"""The job store (real SQLite files), job arguments, logs and the wake-up pipe."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time

import pytest

from deepserve.errors import ArgumentError
from deepserve.jobs import logs, wakeup
from deepserve.jobs.arguments import describe, pack, unpack
from deepserve.jobs.store import CANCELLED, DONE, ERROR, INTERRUPTED, QUEUED, RUNNING, JobStore
from deepserve.model import UploadedFile


@pytest.fixture
def store(tmp_path) -> JobStore:
    return JobStore(tmp_path / "data")


def add(store: JobStore, model: str = "m", n: int = 1, **args) -> list[str]:
    ids = [f"{model}-{len(store.list(model, limit=1000)) + i:04d}" for i in range(n)]
    for job_id in ids:
        store.create(job_id, model, args)
    return ids


# -- records ------------------------------------------------------------------------


def test_create_then_get(store):
    before = time.time()
    job = store.create("a1", "m", {"x": 1, "files": None})
    assert store.get("a1") == job
    assert job.status == QUEUED and job.active
    assert job.args == {"x": 1, "files": None}
    assert before <= job.created <= time.time()
    assert job.started is job.finished is job.result is job.error is job.progress is None
    assert store.get("nope") is None


def test_ids_are_unique(store):
    store.create("a1", "m", {})
    with pytest.raises(sqlite3.IntegrityError):
        store.create("a1", "m", {})


def test_list_is_newest_first_per_model_with_paging(store):
    ids = add(store, "m", 5)
    add(store, "other", 2)
    assert [job.id for job in store.list("m")] == ids[::-1]
    assert [job.id for job in store.list("m", limit=2)] == ids[::-1][:2]
    assert [job.id for job in store.list("m", limit=2, offset=4)] == [ids[0]]
    assert store.list("m", offset=5) == []
    assert store.list("unknown") == []


def test_list_filters_by_status(store):
    first, second, third = add(store, "m", 3)
    store.claim(["m"])
    store.finish(first, DONE)
    store.cancel(third)
    assert [job.id for job in store.list("m", [DONE])] == [first]
    assert [job.id for job in store.list("m", [QUEUED, CANCELLED])] == [third, second]
    assert store.list("m", [RUNNING]) == []


def test_claim_takes_the_oldest_queued_job_of_the_given_models(store):
    ids = add(store, "m", 3)
    other = add(store, "other", 1)
    claimed = [store.claim(["m"]) for _ in range(4)]
    assert [job.id for job in claimed[:3]] == ids
    assert claimed[3] is None
    assert all(job.status == RUNNING and job.started for job in claimed[:3])
    assert store.get(other[0]).status == QUEUED
    assert store.claim([]) is None
    assert store.claim(["other"]).id == other[0]


def _claim_all(path, found):
    store = JobStore(path)
    while (job := store.claim(["m"])) is not None:
        found.put(job.id)


def test_concurrent_claims_from_several_processes_take_each_job_once(store):
    ids = add(store, "m", 40)
    context = multiprocessing.get_context("spawn")
    found = context.Queue()
    workers = [context.Process(target=_claim_all, args=(store.data_dir, found)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    claimed = [found.get(timeout=5) for _ in ids]
    assert sorted(claimed) == ids
    assert found.empty()


def test_finish_changes_only_jobs_in_the_expected_status(store):
    (job_id,) = add(store)
    assert not store.finish(job_id, DONE)  # queued, not running
    store.claim(["m"])
    assert store.finish(job_id, DONE, result={"accuracy": 0.9})
    assert not store.finish(job_id, ERROR, error="late")
    job = store.get(job_id)
    assert (job.status, job.result, job.error) == (DONE, {"accuracy": 0.9}, None)
    assert job.finished >= job.started


def test_finish_refuses_non_json_results(store):
    (job_id,) = add(store)
    store.claim(["m"])
    with pytest.raises(ValueError):
        store.finish(job_id, DONE, result={"value": float("nan")})
    assert store.get(job_id).status == RUNNING


def test_cancel_a_queued_job_removes_its_files(store):
    (job_id,) = add(store)
    store.files_dir(job_id).mkdir(parents=True)
    store.log_path(job_id).write_text("")
    assert store.cancel(job_id) == QUEUED
    assert store.get(job_id).status == CANCELLED
    assert not store.files_dir(job_id).exists()
    assert store.log_path(job_id).exists()
    assert store.cancel(job_id) is None
    assert store.cancel("unknown") is None


def test_cancel_a_running_job_keeps_its_files_for_its_process(store):
    (job_id,) = add(store)
    store.files_dir(job_id).mkdir(parents=True)
    store.claim(["m"])
    assert store.cancel(job_id) == RUNNING
    assert store.files_dir(job_id).exists()
    assert not store.finish(job_id, DONE)  # the process ending late changes nothing
    assert store.get(job_id).status == CANCELLED


def test_report_updates_running_jobs_only_and_keeps_what_is_not_given(store):
    (job_id,) = add(store)
    store.report(job_id, 0.5, {"loss": 1}, "early")
    assert store.get(job_id).progress is None
    store.claim(["m"])
    store.report(job_id, 0.5, {"loss": 1}, "epoch 1")
    store.report(job_id, None, None, None)
    job = store.get(job_id)
    assert (job.progress, job.metrics, job.message) == (0.5, {"loss": 1}, "epoch 1")
    store.report(job_id, 0.75, None, "epoch 2")
    job = store.get(job_id)
    assert (job.progress, job.metrics, job.message) == (0.75, {"loss": 1}, "epoch 2")


def test_interrupt_running(store):
    running, queued = add(store, n=2)
    store.claim(["m"])  # the older one
    assert store.interrupt_running("gone") == [running]
    assert store.get(running).status == INTERRUPTED
    assert store.get(running).error == "gone"
    assert store.get(queued).status == QUEUED
    assert store.interrupt_running("gone") == []


def test_delete_removes_finished_jobs_only(store):
    done, queued = add(store, n=2)
    store.claim(["m"])
    store.finish(done, DONE)
    store.log_path(done).parent.mkdir(parents=True)
    store.log_path(done).write_text("log")
    assert not store.delete(queued)
    assert store.delete(done)
    assert store.get(done) is None
    assert not store.job_dir(done).exists()
    assert not store.delete(done)


def test_prune_removes_finished_jobs_older_than_the_limit(store):
    old, recent, active = add(store, n=3)
    for job_id in (old, recent):
        store.claim(["m"])
        store.finish(job_id, DONE)
        store.job_dir(job_id).mkdir(parents=True)
        time.sleep(0.02)
    limit = store.get(recent).finished
    assert store.prune(finished_before=limit) == [old]
    assert store.get(old) is None and not store.job_dir(old).exists()
    assert store.get(recent) is not None and store.get(active) is not None


def test_schema_and_wal_mode_are_set_up_idempotently(store):
    store.initialise()
    store.initialise()
    other = JobStore(store.data_dir)
    add(store)
    assert len(other.list("m")) == 1
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_statuses(store):
    first, second = add(store, n=2)
    store.cancel(second)
    assert store.statuses([first, second, "gone"]) == {first: QUEUED, second: CANCELLED}
    assert store.statuses([]) == {}


# -- arguments ----------------------------------------------------------------------


@pytest.fixture
def train_spec(discovery):
    return next(r for r in discovery.models if r.name == "trainer").train_args


def test_arguments_round_trip_with_files_moved_into_the_job(train_spec, tmp_path):
    upload = tmp_path / "upload"
    upload.write_text("rows")
    args = train_spec.load(
        {
            "mode": "sleep",
            "seconds": "1.5",
            "data": UploadedFile("data", str(upload), "text/csv", "data.csv"),
        }
    )
    stored = pack(train_spec, args, tmp_path / "job" / "files")
    assert not upload.exists()
    kept = tmp_path / "job" / "files" / "data"
    assert kept.read_text() == "rows"
    assert stored == {
        "mode": "sleep",
        "seconds": 1.5,
        "label": "",
        "data": {
            "name": "data",
            "filename": str(kept),
            "content_type": "text/csv",
            "original_filename": "data.csv",
        },
    }
    assert describe(train_spec, stored) == {**stored, "data": "data.csv"}
    assert unpack(train_spec, stored) == {
        **args,
        "data": UploadedFile("data", str(kept), "text/csv", "data.csv"),
    }


def test_arguments_without_the_optional_file(train_spec, tmp_path):
    stored = pack(train_spec, train_spec.load({}), tmp_path / "files")
    assert stored == {"mode": "ok", "seconds": 0.0, "label": "", "data": None}
    assert describe(train_spec, stored) == stored
    assert unpack(train_spec, stored) == train_spec.load({})
    assert not (tmp_path / "files").exists()


def test_stored_arguments_that_no_longer_validate_are_argument_errors(train_spec):
    with pytest.raises(ArgumentError) as raised:
        unpack(train_spec, {"mode": "retired"})
    assert set(raised.value.data["errors"]) == {"mode"}


# -- logs -----------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"one\n", b"a\nb\nc\n", b"a\nb\nc", b"x" * 100_000])
@pytest.mark.parametrize("lines", [0, 1, 2, 10])
def test_tail(tmp_path, content, lines):
    path = tmp_path / "log"
    path.write_bytes(content)
    expected = b"".join(content.splitlines(keepends=True)[-lines:]) if lines else b""
    assert logs.tail(path, lines) == expected


def test_tail_of_a_long_log_reads_across_blocks(tmp_path):
    path = tmp_path / "log"
    path.write_bytes(b"".join(b"line %d %s\n" % (i, b"." * 1000) for i in range(500)))
    assert logs.tail(path, 3).splitlines()[0].startswith(b"line 497 ")
    assert len(logs.tail(path, 200).splitlines()) == 200


def test_tail_of_a_missing_log_is_empty(tmp_path):
    assert logs.tail(tmp_path / "none", 5) == b""


# -- wake-up --------------------------------------------------------------------------


def test_wake_reaches_the_listener(tmp_path):
    path = tmp_path / "wakeup"
    wakeup.wake(path)  # no listener: nothing happens
    listener = wakeup.Listener(path)
    try:
        assert listener.shared
        assert not listener.wait(0)
        for _ in range(100_000 // 4096 + 2):  # more than a pipe holds: never blocks
            wakeup.wake(path)
        assert listener.wait(30)
        assert not listener.wait(0)  # drained
    finally:
        listener.close()
    wakeup.wake(path)  # no reader any more: nothing happens


def test_listener_replaces_a_stale_file(tmp_path):
    path = tmp_path / "wakeup"
    path.write_text("not a pipe")
    listener = wakeup.Listener(path)
    listener.close()
    assert path.is_fifo()
