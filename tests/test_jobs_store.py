"""The job store (on real SQLite files and a real PostgreSQL server), job arguments, logs and
the wake-up pipe."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time

import pytest
import sqlalchemy as sa

from deepserve.errors import ArgumentError
from deepserve.jobs import logs, wakeup
from deepserve.jobs.arguments import describe, pack, unpack
from deepserve.jobs.store import (
    CANCELLED,
    DONE,
    ERROR,
    INTERRUPTED,
    PREDICT,
    QUEUED,
    RUNNING,
    TRAIN,
    JobStore,
    QueueFull,
)
from deepserve.model import UploadedFile


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path) -> JobStore:
    """A store on a new SQLite file, or a new PostgreSQL database."""
    url = request.getfixturevalue("postgres").new_database() if request.param != "sqlite" else None
    store = JobStore(tmp_path / "data", url)
    yield store
    store.close()


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


def test_jobs_have_a_kind_and_predictions_a_media_type(store):
    training = store.create("t", "m", {})
    prediction = store.create("p", "m", {"x": 1}, kind=PREDICT, media_type="image/*")
    assert (training.kind, training.media_type) == (TRAIN, None)
    assert store.get("p") == prediction
    assert [job.id for job in store.list("m")] == ["p", "t"]
    assert [job.id for job in store.list("m", kind=PREDICT)] == ["p"]
    assert [job.id for job in store.list("m", [QUEUED], kind=TRAIN)] == ["t"]
    assert store.count_by_status()[QUEUED] == 1  # training jobs by default
    assert store.count_by_status(PREDICT)[QUEUED] == 1
    store.claim(["m"], "w")
    store.claim(["m"], "w")
    assert store.finish("p", DONE, media_type="image/png")
    assert store.get("p").media_type == "image/png"
    assert store.finish("t", DONE)
    assert store.get("t").media_type is None


def test_ids_are_unique(store):
    store.create("a1", "m", {})
    with pytest.raises(sa.exc.IntegrityError):
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
    store.claim(["m"], "w")
    store.finish(first, DONE)
    store.cancel(third)
    assert [job.id for job in store.list("m", [DONE])] == [first]
    assert [job.id for job in store.list("m", [QUEUED, CANCELLED])] == [third, second]
    assert store.list("m", [RUNNING]) == []


def test_claim_takes_the_oldest_queued_job_of_the_given_models(store):
    ids = add(store, "m", 3)
    other = add(store, "other", 1)
    claimed = [store.claim(["m"], "w") for _ in range(4)]
    assert [job.id for job in claimed[:3]] == ids
    assert claimed[3] is None
    assert all(job.status == RUNNING and job.started for job in claimed[:3])
    assert store.get(other[0]).status == QUEUED
    assert store.claim([], "w") is None
    assert store.claim(["other"], "w").id == other[0]


def _claim_all(path, url, found):
    store = JobStore(path, url)
    while (job := store.claim(["m"], "w")) is not None:
        found.put(job.id)
    store.close()


def test_concurrent_claims_from_several_processes_take_each_job_once(store):
    ids = add(store, "m", 40)
    context = multiprocessing.get_context("spawn")
    found = context.Queue()
    workers = [
        context.Process(target=_claim_all, args=(store.data_dir, store.url, found))
        for _ in range(4)
    ]
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
    store.claim(["m"], "w")
    assert store.finish(job_id, DONE, result={"accuracy": 0.9})
    assert not store.finish(job_id, ERROR, error="late")
    job = store.get(job_id)
    assert (job.status, job.result, job.error) == (DONE, {"accuracy": 0.9}, None)
    assert job.finished >= job.started


def test_a_done_job_has_progress_1_whatever_it_reported_last(store):
    done, failed = add(store, n=2)
    for job_id in (done, failed):
        store.claim_job(job_id, "w")
        store.report(job_id, 0.9, None, "saving")
    store.finish(done, DONE, result={})
    store.finish(failed, ERROR, error="disk full")
    assert (store.get(done).progress, store.get(done).message) == (1.0, "saving")
    assert store.get(failed).progress == 0.9


def test_create_refuses_a_job_beyond_the_queue_bound(store):
    first, second = add(store, n=2)
    with pytest.raises(QueueFull) as refused:
        store.create("third", "other-model", {}, max_queued=2)
    assert refused.value.limit == 2
    assert store.get("third") is None
    store.claim_job(first, "w")  # one queued job left: room for another
    store.create("third", "m", {}, max_queued=2)
    assert store.get("third").status == QUEUED
    store.create("fourth", "m", {})  # no bound


def test_finish_refuses_non_json_results(store):
    (job_id,) = add(store)
    store.claim(["m"], "w")
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
    store.claim(["m"], "w")
    assert store.cancel(job_id) == RUNNING
    assert store.files_dir(job_id).exists()
    assert not store.finish(job_id, DONE)  # the process ending late changes nothing
    assert store.get(job_id).status == CANCELLED


def test_report_updates_running_jobs_only_and_keeps_what_is_not_given(store):
    (job_id,) = add(store)
    store.report(job_id, 0.5, {"loss": 1}, "early")
    assert store.get(job_id).progress is None
    store.claim(["m"], "w")
    store.report(job_id, 0.5, {"loss": 1}, "epoch 1")
    store.report(job_id, None, None, None)
    job = store.get(job_id)
    assert (job.progress, job.metrics, job.message) == (0.5, {"loss": 1}, "epoch 1")
    store.report(job_id, 0.75, None, "epoch 2")
    job = store.get(job_id)
    assert (job.progress, job.metrics, job.message) == (0.75, {"loss": 1}, "epoch 2")


def test_claim_records_the_owner_and_a_first_heartbeat(store):
    (job_id,) = add(store)
    before = time.time()
    job = store.claim(["m"], "worker-1")
    assert (job.worker, job.status) == ("worker-1", RUNNING)
    assert before <= job.heartbeat == job.started <= time.time()


def test_claim_job_takes_that_job_only_if_it_is_queued(store):
    first, second = add(store, n=2)
    job = store.claim_job(second, "w")
    assert (job.id, job.status, job.worker) == (second, RUNNING, "w")
    assert store.get(first).status == QUEUED
    assert store.claim_job(second, "other") is None  # taken
    store.cancel(first)
    assert store.claim_job(first, "w") is None  # cancelled
    assert store.claim_job("unknown", "w") is None


def test_beat_refreshes_running_jobs_and_names_them(store):
    running, cancelled, queued = add(store, n=3)
    store.claim_job(running, "w")
    store.claim_job(cancelled, "w")
    store.cancel(cancelled)
    before = {job_id: store.get(job_id).heartbeat for job_id in (running, cancelled)}
    time.sleep(0.01)
    assert store.beat([running, cancelled, queued, "gone"]) == {running}
    assert store.get(running).heartbeat > before[running]
    assert store.get(cancelled).heartbeat == before[cancelled]
    assert store.beat([]) == set()


def test_interrupt_running_takes_only_the_jobs_of_that_worker(store):
    mine, theirs, queued = add(store, n=3)
    store.claim_job(mine, "me")
    store.claim_job(theirs, "them")
    store.files_dir(mine).mkdir(parents=True)
    said = store.interrupt_running("me", lambda job: f"{job.worker} is gone")
    assert [job.id for job in said] == [mine]
    assert said[0].status == RUNNING  # as it was
    assert (store.get(mine).status, store.get(mine).error) == (INTERRUPTED, "me is gone")
    assert not store.files_dir(mine).exists()
    assert store.get(theirs).status == RUNNING
    assert store.get(queued).status == QUEUED
    assert store.interrupt_running("me", str) == []


def test_interrupt_stale_takes_running_jobs_without_a_recent_heartbeat(store):
    old, fresh, queued = add(store, n=3)
    store.claim_job(old, "w")
    time.sleep(0.02)
    limit = time.time()
    store.claim_job(fresh, "w")
    store.files_dir(old).mkdir(parents=True)
    assert [job.id for job in store.interrupt_stale(limit, lambda job: "no heartbeat")] == [old]
    assert (store.get(old).status, store.get(old).error) == (INTERRUPTED, "no heartbeat")
    assert not store.files_dir(old).exists()
    assert store.get(fresh).status == RUNNING
    assert store.get(queued).status == QUEUED
    assert not store.finish(old, DONE)  # a late end changes nothing


def test_delete_removes_finished_jobs_only(store):
    done, queued = add(store, n=2)
    store.claim(["m"], "w")
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
        store.claim(["m"], "w")
        store.finish(job_id, DONE)
        store.job_dir(job_id).mkdir(parents=True)
        time.sleep(0.02)
    limit = store.get(recent).finished
    assert store.prune(finished_before=limit) == [old]
    assert store.get(old) is None and not store.job_dir(old).exists()
    assert store.get(recent) is not None and store.get(active) is not None


def test_schema_is_set_up_idempotently(store):
    store.initialise()
    store.initialise()
    other = JobStore(store.data_dir, store.url)
    add(store)
    assert len(other.list("m")) == 1
    other.close()


def test_sqlite_runs_in_wal_mode(tmp_path):
    store = JobStore(tmp_path)
    store.initialise()
    with sqlite3.connect(tmp_path / "jobs.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _initialise(path, url):
    store = JobStore(path, url)
    store.initialise()


def test_replicas_starting_at_once_create_the_schema_once(postgres, tmp_path):
    url = postgres.new_database()
    context = multiprocessing.get_context("spawn")
    starters = [context.Process(target=_initialise, args=(tmp_path, url)) for _ in range(6)]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join(60)
        assert starter.exitcode == 0
    store = JobStore(tmp_path, url)
    assert add(store) == ["m-0000"]
    store.close()


#: The first job store's schema (SQLite only), as a database of then would hold it.
SCHEMA_1 = """
CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, model TEXT NOT NULL,
    status TEXT NOT NULL, args TEXT NOT NULL, created REAL NOT NULL, started REAL,
    finished REAL, result TEXT, error TEXT, progress REAL, metrics TEXT, message TEXT,
    pid INTEGER
);
CREATE INDEX jobs_by_model ON jobs (model, seq);
CREATE INDEX jobs_by_status ON jobs (status, seq);
INSERT INTO jobs (id, model, status, args, created, started, result)
    VALUES ('old', 'm', 'done', '{"x": 1}', 1.0, 2.0, '{"ok": true}');
INSERT INTO jobs (id, model, status, args, created, started)
    VALUES ('left', 'm', 'running', '{}', 3.0, 4.0);
"""


def test_a_database_of_the_first_schema_is_migrated(tmp_path):
    with sqlite3.connect(tmp_path / "jobs.db") as connection:
        connection.executescript(SCHEMA_1)
    store = JobStore(tmp_path)
    store.initialise()
    old = store.get("old")
    assert (old.status, old.args, old.result, old.worker, old.heartbeat) == (
        DONE, {"x": 1}, {"ok": True}, None, None,
    )  # fmt: skip
    left = store.interrupt_stale(0, lambda job: "left by an old server")  # no heartbeat
    assert [job.id for job in left] == ["left"]
    assert [job.id for job in store.list("m")] == ["left", "old"]
    assert (old.kind, old.media_type) == (TRAIN, None)  # every job of old was a training
    assert add(store) == ["m-0002"]
    with sqlite3.connect(tmp_path / "jobs.db") as connection:
        assert connection.execute("SELECT version FROM deepserve_schema").fetchall() == [(3,)]


def test_a_database_of_a_newer_schema_is_refused(tmp_path):
    JobStore(tmp_path).initialise()
    with sqlite3.connect(tmp_path / "jobs.db") as connection:
        connection.execute("UPDATE deepserve_schema SET version = 99")
    with pytest.raises(RuntimeError, match="schema version 99, written by a newer deepserve"):
        JobStore(tmp_path).initialise()


def test_database_urls(tmp_path):
    assert JobStore(tmp_path).description == str(tmp_path)
    secret = JobStore(tmp_path, "postgresql://user:secret@db.example/jobs")
    assert secret.url.drivername == "postgresql+psycopg"  # psycopg 3, not psycopg2
    assert secret.description == "postgresql+psycopg://user:***@db.example/jobs"
    other = JobStore(tmp_path, f"sqlite:///{tmp_path}/other.db")
    assert other.description == f"sqlite:///{tmp_path}/other.db"
    with pytest.raises(ValueError, match="unsupported job database mysql://user:\\*\\*\\*@h/db"):
        JobStore(tmp_path, "mysql://user:pw@h/db")


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


def test_claim_takes_only_the_kinds_asked_for(store):
    store.create("t", "m", {})
    store.create("p", "m", {}, kind=PREDICT)
    assert store.claim(["m"], "w", (PREDICT,)).id == "p"
    assert store.claim(["m"], "w", (PREDICT,)) is None
    assert store.claim(["m"], "w").id == "t"


def test_count_running_counts_by_owner_and_kind(store):
    for job_id, kind in [("t", TRAIN), ("p", PREDICT), ("q", PREDICT), ("o", TRAIN)]:
        store.create(job_id, "m", {}, kind=kind)
    for job_id, owner in [("t", "a"), ("p", "a"), ("o", "b")]:
        store.claim_job(job_id, owner)
    assert store.count_running(["a"]) == 2
    assert store.count_running(["a"], (PREDICT,)) == 1
    assert store.count_running(["a", "b"], (TRAIN,)) == 2
    assert store.count_running(["c"]) == 0


def test_workers_announce_themselves_and_withdraw(store):
    store.announce_worker("w1", ["m", "n"], [TRAIN, PREDICT], 2)
    store.announce_worker("w2", ["n"], [PREDICT], 1)
    store.announce_worker("w1", ["m", "n"], [TRAIN, PREDICT], 3)  # again: a heartbeat
    assert store.live_workers("n", PREDICT, time.time() - 5) == {"w1": 3, "w2": 1}
    assert store.live_workers("n", TRAIN, time.time() - 5) == {"w1": 3}
    assert store.live_workers("m", PREDICT, time.time() - 5) == {"w1": 3}
    assert store.live_workers("m", TRAIN, time.time() + 1) == {}  # none announced since
    store.withdraw_worker("w1")
    assert store.live_workers("n", PREDICT, time.time() - 5) == {"w2": 1}
