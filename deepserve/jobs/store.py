"""Job records (training jobs and asynchronous predictions), through SQLAlchemy Core: an
embedded SQLite database by default (``<data-dir>/jobs.db``), or a PostgreSQL database shared
by several servers and workers.

Each process opens its own engine (a connection pool does not survive a fork). Every status
change is one conditional statement inside a write transaction (``BEGIN IMMEDIATE`` on
SQLite, row locks on PostgreSQL): a change applies only to a job still in the status it
expects, so concurrent writers (a worker cancelling, the job finishing, a reaper) never
overwrite each other.

A running job has an owner (``worker``: the supervisor or Celery worker running it) that
refreshes the job's ``heartbeat``; whoever finds a running job whose heartbeat is too old
marks it interrupted (:meth:`JobStore.interrupt_stale`).

A job has a ``kind``: :data:`TRAIN` (the model's ``train``) or :data:`PREDICT` (its
``predict``, asked for with ``Prefer: respond-async``; its ``media_type`` is the one negotiated
when it was submitted). A job also owns a directory, ``<data-dir>/jobs/<id>/``, holding its
uploaded ``files/`` (while it is queued or running), its ``log``, and a prediction's binary
``output`` (until the record is removed).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..extras import require
from ..outputs import dumps

#: The environment variable naming the job database (``--database``); inherited by the jobs.
DATABASE_VARIABLE = "DEEPSERVE_DATABASE"

QUEUED, RUNNING, DONE, ERROR, CANCELLED, INTERRUPTED = (
    "queued",
    "running",
    "done",
    "error",
    "cancelled",
    "interrupted",
)
STATUSES = (QUEUED, RUNNING, DONE, ERROR, CANCELLED, INTERRUPTED)
ACTIVE = (QUEUED, RUNNING)
FINISHED = (DONE, ERROR, CANCELLED, INTERRUPTED)

TRAIN, PREDICT = "train", "predict"
KINDS = (TRAIN, PREDICT)

#: Milliseconds a SQLite statement waits for another process's write to end.
BUSY_TIMEOUT_MS = 30_000

metadata = sa.MetaData()
jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("args", sa.Text, nullable=False),
    sa.Column("created", sa.Double, nullable=False),
    sa.Column("started", sa.Double),
    sa.Column("finished", sa.Double),
    sa.Column("result", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("progress", sa.Double),
    sa.Column("metrics", sa.Text),
    sa.Column("message", sa.Text),
    sa.Column("pid", sa.Integer),
    sa.Column("worker", sa.Text),
    sa.Column("heartbeat", sa.Double),
    sa.Column("kind", sa.String(16), nullable=False, server_default=TRAIN),
    sa.Column("media_type", sa.Text),
    sa.Index("jobs_by_model", "model", "seq"),
    sa.Index("jobs_by_status", "status", "seq"),
    sqlite_autoincrement=True,  # ids of removed jobs are not reused: newest first stays true
)
#: The Celery workers that announced themselves (the local supervisor uses a file instead: see
#: :mod:`.presence`), so that a server can say why a queued job does not start.
workers = sa.Table(
    "workers",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("models", sa.Text, nullable=False),
    sa.Column("kinds", sa.Text, nullable=False),
    sa.Column("slots", sa.Integer, nullable=False),
    sa.Column("heartbeat", sa.Double, nullable=False),
)
schema_version = sa.Table(
    "deepserve_schema", metadata, sa.Column("version", sa.Integer, nullable=False)
)

#: The schema this code writes; older databases are migrated at start-up.
SCHEMA_VERSION = 3
#: Statements taking the schema from version N to N + 1. Version 1 (the first SQLite job
#: store) had no ``deepserve_schema`` table, nor a job's worker and heartbeat; version 2 had
#: training jobs only.
MIGRATIONS = {
    1: [
        "ALTER TABLE jobs ADD COLUMN worker TEXT",
        "ALTER TABLE jobs ADD COLUMN heartbeat DOUBLE PRECISION",
    ],
    2: [
        f"ALTER TABLE jobs ADD COLUMN kind VARCHAR(16) NOT NULL DEFAULT '{TRAIN}'",
        "ALTER TABLE jobs ADD COLUMN media_type TEXT",
    ],
}
#: PostgreSQL advisory lock held while the schema is created or migrated ("deepserv").
SCHEMA_LOCK = 0x6465_6570_7365_7276


@dataclasses.dataclass(frozen=True)
class Job:
    """One job as recorded. Times are seconds since the epoch (UTC)."""

    id: str
    model: str
    status: str
    args: dict
    created: float
    started: float | None = None
    finished: float | None = None
    result: Any = None
    error: str | None = None
    progress: float | None = None
    metrics: dict | None = None
    message: str | None = None
    pid: int | None = None
    worker: str | None = None
    heartbeat: float | None = None
    kind: str = TRAIN
    media_type: str | None = None

    @property
    def active(self) -> bool:
        """Whether the job is queued or running."""
        return self.status in ACTIVE


_COLUMNS = [field.name for field in dataclasses.fields(Job)]
_JSON_COLUMNS = frozenset({"args", "result", "metrics"})


class QueueFull(Exception):
    """No job is created: as many jobs as allowed are queued already."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} jobs are queued already")
        self.limit = limit


def database_url() -> str | None:
    """The job database named by ``$DEEPSERVE_DATABASE`` (``None``: the data directory's)."""
    return os.environ.get(DATABASE_VARIABLE) or None


class JobStore:
    """The job records of one database, and the job directories of one data directory.

    ``url`` is a SQLAlchemy database URL (``sqlite:///PATH``, ``postgresql://...``); by
    default the SQLite file ``<data_dir>/jobs.db``.
    """

    def __init__(self, data_dir: Path, url: str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.jobs_dir = self.data_dir / "jobs"
        self.wakeup_path = self.jobs_dir / "wakeup"
        self.url = _url(url, self.data_dir)
        self._pid: int | None = None
        self._engine: sa.Engine | None = None
        self._writer: sa.Engine | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"JobStore({self.description})"

    @property
    def description(self) -> str:
        """Where the records are, for messages (the data directory, or the URL without its
        password)."""
        if self.url == _url(None, self.data_dir):
            return str(self.data_dir)
        return self.url.render_as_string(hide_password=True)

    # -- connections -------------------------------------------------------------------

    def _engines(self) -> tuple[sa.Engine, sa.Engine]:
        """This process's engines, for reading and for writing (created on first use)."""
        with self._lock:
            if self._pid != os.getpid():
                if self._engine is not None:  # inherited through fork: not ours to close
                    self._engine.dispose(close=False)
                self.jobs_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # uploads: private
                engine = _create_engine(self.url)
                _create_schema(engine)
                self._engine, self._writer = engine, engine.execution_options(write=True)
                self._pid = os.getpid()
            return self._engine, self._writer

    def _read(self) -> sa.Connection:
        return self._engines()[0].connect()

    def _write(self) -> contextlib.AbstractContextManager[sa.Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed at the end."""
        return self._engines()[1].begin()

    def initialise(self) -> None:
        """Create or migrate the schema now, to fail early if we cannot; then release the
        connections (a server forks after this)."""
        self._engines()
        self.close()

    def close(self) -> None:
        """Close this process's connections (the store opens new ones if used again)."""
        with self._lock:
            if self._engine is not None and self._pid == os.getpid():
                self._engine.dispose()

    # -- reading -------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or ``None``."""
        with self._read() as connection:
            row = connection.execute(jobs.select().where(jobs.c.id == job_id)).first()
        return _job(row) if row else None

    def list(
        self,
        model: str,
        statuses: Sequence[str] = (),
        limit: int = 100,
        offset: int = 0,
        *,
        kind: str | None = None,
    ) -> list[Job]:
        """A model's jobs, newest first, optionally only those with one of ``statuses``
        and of one ``kind``."""
        query = jobs.select().where(jobs.c.model == model)
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        if statuses:
            query = query.where(jobs.c.status.in_(statuses))
        query = query.order_by(jobs.c.seq.desc()).limit(limit).offset(offset)
        with self._read() as connection:
            return [_job(row) for row in connection.execute(query)]

    # -- writing -------------------------------------------------------------------------

    def count_by_status(self, kind: str = TRAIN) -> dict[str, int]:
        """How many jobs of ``kind`` have each status (every status listed, 0 when none)."""
        query = (
            sa.select(jobs.c.status, sa.func.count())
            .where(jobs.c.kind == kind)
            .group_by(jobs.c.status)
        )
        with self._read() as connection:
            counts = dict(connection.execute(query).all())
        return {**dict.fromkeys(STATUSES, 0), **counts}

    def create(
        self,
        job_id: str,
        model: str,
        args: dict,
        max_queued: int = 0,
        *,
        kind: str = TRAIN,
        media_type: str | None = None,
    ) -> Job:
        """Record a new queued job of ``kind`` (a prediction answers in ``media_type``); with
        ``max_queued``, raise :class:`QueueFull` instead when that many jobs (of any kind) are
        queued already (exact on SQLite, whose writers take turns; on PostgreSQL, concurrent
        creations may pass the bound by a few)."""
        job = Job(
            id=job_id,
            model=model,
            status=QUEUED,
            args=args,
            created=time.time(),
            kind=kind,
            media_type=media_type,
        )
        names = ("id", "model", "status", "created", "kind", "media_type")
        values = {name: getattr(job, name) for name in names}
        queued = sa.select(sa.func.count()).select_from(jobs).where(jobs.c.status == QUEUED)
        with self._write() as connection:
            if max_queued and connection.scalar(queued) >= max_queued:
                raise QueueFull(max_queued)
            connection.execute(jobs.insert().values(**values, args=dumps(args)))
        return job

    def claim(self, models: Sequence[str], worker: str, kinds: Sequence[str] = KINDS) -> Job | None:
        """Mark the oldest queued job of ``models`` (of one of ``kinds``) as running, owned by
        ``worker``, and return it (``None`` if there is none)."""
        if not models:
            return None
        oldest = (
            sa.select(jobs.c.seq)
            .where(jobs.c.status == QUEUED, jobs.c.model.in_(models), jobs.c.kind.in_(kinds))
            .order_by(jobs.c.seq)
            .limit(1)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite's transaction is exclusive
        )
        with self._write() as connection:
            seq = connection.scalar(oldest)
            return None if seq is None else _start(connection, jobs.c.seq == seq, worker)

    def count_running(self, owners: Sequence[str], kinds: Sequence[str] = KINDS) -> int:
        """How many jobs of ``kinds`` run, owned by one of ``owners``."""
        query = (
            sa.select(sa.func.count())
            .select_from(jobs)
            .where(jobs.c.status == RUNNING, jobs.c.worker.in_(owners), jobs.c.kind.in_(kinds))
        )
        with self._read() as connection:
            return connection.scalar(query)

    def claim_job(self, job_id: str, worker: str) -> Job | None:
        """Mark job ``job_id`` as running, owned by ``worker``, if it is queued; return it
        (``None`` if it is not queued: cancelled, removed, or already taken)."""
        with self._write() as connection:
            return _start(connection, jobs.c.id == job_id, worker)

    def set_pid(self, job_id: str, pid: int) -> None:
        """Record the process running the job."""
        self._update(jobs.c.id == job_id, pid=pid)

    def beat(self, job_ids: Iterable[str]) -> set[str]:
        """Refresh the heartbeat of those of ``job_ids`` that are running; return their ids
        (the others were cancelled, interrupted or removed: their processes must stop)."""
        ids = list(job_ids)
        if not ids:
            return set()
        running = sa.and_(jobs.c.id.in_(ids), jobs.c.status == RUNNING)
        with self._write() as connection:
            connection.execute(jobs.update().where(running).values(heartbeat=time.time()))
            return set(connection.scalars(sa.select(jobs.c.id).where(running)))

    def report(
        self, job_id: str, progress: float | None, metrics: dict | None, message: str | None
    ) -> None:
        """Record a running job's progress, metrics and message (``None`` keeps the old one)."""
        given = {"progress": progress, "metrics": _json(metrics), "message": message}
        values = {name: value for name, value in given.items() if value is not None}
        if values:
            self._update(sa.and_(jobs.c.id == job_id, jobs.c.status == RUNNING), **values)

    def finish(
        self,
        job_id: str,
        status: str,
        *,
        result: Any = None,
        error: str | None = None,
        media_type: str | None = None,
        only_from: Sequence[str] = (RUNNING,),
    ) -> bool:
        """Give the job its final ``status`` if it is currently in one of ``only_from``
        (a ``done`` job's progress becomes 1; a prediction's ``media_type``, when given,
        becomes the type of its output).

        Returns whether it changed: a job already finished (or cancelled) keeps its status.
        """
        values = {"status": status, "finished": time.time(), "result": _json(result)}
        if status == DONE:
            values["progress"] = 1.0  # whatever the model last reported
        if media_type is not None:
            values["media_type"] = media_type
        condition = sa.and_(jobs.c.id == job_id, jobs.c.status.in_(only_from))
        return self._update(condition, **values, error=error) == 1

    def cancel(self, job_id: str) -> str | None:
        """Mark a queued or running job cancelled; return the status it had (``None`` if it
        was not active). Whoever runs a running job notices and stops its process, and
        removes its files when it ends; a queued job's files are removed here.
        """
        current = sa.select(jobs.c.status).where(jobs.c.id == job_id).with_for_update()
        with self._write() as connection:
            status = connection.scalar(current)
            if status not in ACTIVE:
                return None
            connection.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.status == status)
                .values(status=CANCELLED, finished=time.time())
            )
        if status == QUEUED:
            self.remove_files(job_id)
        return status

    def interrupt_running(self, worker: str, reason: Callable[[Job], str]) -> list[Job]:
        """Mark the running jobs of ``worker`` interrupted (their processes are gone), each
        with its ``reason(job)``, drop their files, and return them as they were."""
        return self._interrupt(jobs.c.worker == worker, reason)

    def interrupt_stale(self, beaten_before: float, reason: Callable[[Job], str]) -> list[Job]:
        """Mark interrupted the running jobs whose heartbeat is older than ``beaten_before``
        (their worker is gone), each with its ``reason(job)``, drop their files, and return
        them as they were."""
        stale = sa.or_(jobs.c.heartbeat < beaten_before, jobs.c.heartbeat.is_(None))
        return self._interrupt(stale, reason)

    def _interrupt(
        self, condition: sa.ColumnElement[bool], reason: Callable[[Job], str]
    ) -> list[Job]:
        running = sa.and_(jobs.c.status == RUNNING, condition)
        with self._write() as connection:
            found = [
                _job(row)
                for row in connection.execute(
                    jobs.select().where(running).with_for_update(skip_locked=True)
                )
            ]
            for job in found:
                connection.execute(
                    jobs.update()
                    .where(jobs.c.id == job.id, jobs.c.status == RUNNING)
                    .values(status=INTERRUPTED, finished=time.time(), error=reason(job))
                )
        for job in found:
            self.remove_files(job.id)
        return found

    # -- Celery workers ------------------------------------------------------------------

    def announce_worker(
        self, name: str, models: Sequence[str], kinds: Sequence[str], slots: int
    ) -> None:
        """Record that Celery worker ``name`` runs up to ``slots`` jobs of ``models`` and
        ``kinds`` (call it again, as a heartbeat, while it runs); forget workers silent for a
        day."""
        now = time.time()
        with self._write() as connection:
            connection.execute(workers.delete().where(workers.c.heartbeat < now - 86400))
            connection.execute(workers.delete().where(workers.c.name == name))
            connection.execute(
                workers.insert().values(
                    name=name,
                    models=dumps(list(models)),
                    kinds=dumps(list(kinds)),
                    slots=slots,
                    heartbeat=now,
                )
            )

    def withdraw_worker(self, name: str) -> None:
        """Forget Celery worker ``name`` (it stops)."""
        with self._write() as connection:
            connection.execute(workers.delete().where(workers.c.name == name))

    def live_workers(self, model: str, kind: str, beaten_after: float) -> dict[str, int]:
        """The Celery workers running ``model``'s jobs of ``kind`` that announced themselves
        after ``beaten_after``, and their job slots."""
        columns = (workers.c.name, workers.c.models, workers.c.kinds, workers.c.slots)
        query = sa.select(*columns).where(workers.c.heartbeat > beaten_after)
        with self._read() as connection:
            rows = connection.execute(query).all()
        return {
            name: slots
            for name, models, kinds, slots in rows
            if model in json.loads(models) and kind in json.loads(kinds)
        }

    def delete(self, job_id: str) -> bool:
        """Remove a finished job's record and directory; active jobs are kept."""
        removed = self._delete(sa.and_(jobs.c.id == job_id, jobs.c.status.in_(FINISHED)))
        if removed:
            self.remove_dir(job_id)
        return bool(removed)

    def prune(self, finished_before: float) -> list[str]:
        """Remove the finished jobs (records and directories) finished before this time."""
        old = sa.and_(jobs.c.status.in_(FINISHED), jobs.c.finished < finished_before)
        ids = self._delete(old)
        for job_id in ids:
            self.remove_dir(job_id)
        return ids

    def _update(self, condition: sa.ColumnElement[bool], **values: Any) -> int:
        """Set ``values`` on the jobs meeting ``condition``; return how many changed."""
        with self._write() as connection:
            return connection.execute(jobs.update().where(condition).values(**values)).rowcount

    def _delete(self, condition: sa.ColumnElement[bool]) -> list[str]:
        """Remove the records meeting ``condition``; return their ids."""
        with self._write() as connection:
            ids = list(
                connection.scalars(
                    sa.select(jobs.c.id).where(condition).with_for_update(skip_locked=True)
                )
            )
            if ids:
                connection.execute(jobs.delete().where(jobs.c.id.in_(ids), condition))
        return ids

    # -- directories ---------------------------------------------------------------------

    def job_dir(self, job_id: str) -> Path:
        """The job's own directory (not created here)."""
        return self.jobs_dir / job_id

    def files_dir(self, job_id: str) -> Path:
        """Where the job's uploaded files are kept while it is queued or running."""
        return self.job_dir(job_id) / "files"

    def log_path(self, job_id: str) -> Path:
        """The file receiving the job's stdout and stderr."""
        return self.job_dir(job_id) / "log"

    def output_path(self, job_id: str) -> Path:
        """Where a prediction job keeps a binary output (a JSON one is its ``result``)."""
        return self.job_dir(job_id) / "output"

    def remove_files(self, job_id: str) -> None:
        """Remove the job's uploaded files (its log stays)."""
        shutil.rmtree(self.files_dir(job_id), ignore_errors=True)

    def remove_dir(self, job_id: str) -> None:
        """Remove the job's directory: files and log."""
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)


def _url(url: str | None, data_dir: Path) -> sa.URL:
    """The database URL to use; PostgreSQL through psycopg (version 3) unless told."""
    if not url:
        return sa.URL.create("sqlite", database=str(data_dir / "jobs.db"))
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.drivername == "postgresql+psycopg":
            require("psycopg", "postgres", "A PostgreSQL job database")
    elif backend != "sqlite":
        shown = parsed.render_as_string(hide_password=True)
        raise ValueError(f"unsupported job database {shown}: use sqlite:///PATH or postgresql://")
    return parsed


def _create_engine(url: sa.URL) -> sa.Engine:
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)  # survives a database restart
    engine = sa.create_engine(url)

    @sa.event.listens_for(engine, "connect")
    def configure(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # transactions begin in ``begin`` below
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", f"busy_timeout={BUSY_TIMEOUT_MS}"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @sa.event.listens_for(engine, "begin")
    def begin(connection: sa.Connection) -> None:
        # A writer takes the write lock first (waiting up to the busy timeout), never
        # upgrading a read transaction, which SQLite may refuse at once with "busy".
        write = connection.get_execution_options().get("write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _create_schema(engine: sa.Engine) -> None:
    """Create the tables, or migrate them, once even if several processes start at once."""
    with engine.execution_options(write=True).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(SCHEMA_LOCK)))
        tables = set(sa.inspect(connection).get_table_names())
        if schema_version.name in tables:
            version = connection.scalar(sa.select(schema_version.c.version))
        else:
            version = 1 if jobs.name in tables else SCHEMA_VERSION
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"the job database has schema version {version}, written by a newer deepserve "
                f"(this one knows up to {SCHEMA_VERSION})"
            )
        for step in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[step]:
                connection.exec_driver_sql(statement)
        metadata.create_all(connection)
        if schema_version.name not in tables or version != SCHEMA_VERSION:
            connection.execute(schema_version.delete())
            connection.execute(schema_version.insert().values(version=SCHEMA_VERSION))


def _start(connection: sa.Connection, key: sa.ColumnElement[bool], worker: str) -> Job | None:
    """Mark the queued job identified by ``key`` running; return it (``None`` if not queued)."""
    now = time.time()
    started = connection.execute(
        jobs.update()
        .where(key, jobs.c.status == QUEUED)
        .values(status=RUNNING, started=now, worker=worker, heartbeat=now)
    )
    if started.rowcount != 1:
        return None
    return _job(connection.execute(jobs.select().where(key)).one())


def _job(row: sa.Row) -> Job:
    values = {name: row._mapping[name] for name in _COLUMNS}
    for name in _JSON_COLUMNS:
        if values[name] is not None:
            values[name] = json.loads(values[name])
    return Job(**values)


def _json(value: Any) -> str | None:
    return None if value is None else dumps(value)
