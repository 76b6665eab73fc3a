"""Training job records in an embedded SQLite database shared by every process of a server.

Each process (and thread) opens its own connection; the database runs in WAL mode, so HTTP
workers read while a job writes its progress. Every change is one statement or one
``BEGIN IMMEDIATE`` transaction, and status changes are conditional on the current status,
so concurrent writers (a worker cancelling, the job finishing) never overwrite each other.

A job also owns a directory, ``<data-dir>/jobs/<id>/``, holding its uploaded ``files/`` (while
it is queued or running) and its ``log`` (until the record is removed).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..outputs import dumps
from . import wakeup

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

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    status TEXT NOT NULL,
    args TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    result TEXT,
    error TEXT,
    progress REAL,
    metrics TEXT,
    message TEXT,
    pid INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_by_model ON jobs (model, seq);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, seq);
"""


@dataclasses.dataclass(frozen=True)
class Job:
    """One training job as recorded. Times are seconds since the epoch (UTC)."""

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

    @property
    def active(self) -> bool:
        """Whether the job is queued or running."""
        return self.status in ACTIVE


_COLUMNS = [field.name for field in dataclasses.fields(Job)]
_JSON_COLUMNS = frozenset({"args", "result", "metrics"})


class JobStore:
    """The job records and directories of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / "jobs.db"
        self.jobs_dir = self.data_dir / "jobs"
        self.wakeup_path = self.jobs_dir / "wakeup"
        self._local = threading.local()

    # -- connections -------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection (a forked process opens its own)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.connection = self._connect()
            local.pid = os.getpid()
        return local.connection

    def _connect(self) -> sqlite3.Connection:
        self.jobs_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # uploads: private
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(_SCHEMA)
        return connection

    def initialise(self) -> None:
        """Create the database and its schema now (idempotent), to fail early if we cannot."""
        self._connect().close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    # -- reading -------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or ``None``."""
        row = self._connection().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def list(
        self, model: str, statuses: Sequence[str] = (), limit: int = 100, offset: int = 0
    ) -> list[Job]:
        """A model's jobs, newest first, optionally only those with one of ``statuses``."""
        query = "SELECT * FROM jobs WHERE model = ?"
        params: list[Any] = [model]
        if statuses:
            query += f" AND status IN ({_marks(statuses)})"
            params += statuses
        query += " ORDER BY seq DESC LIMIT ? OFFSET ?"
        rows = self._connection().execute(query, [*params, limit, offset]).fetchall()
        return [_job(row) for row in rows]

    def statuses(self, job_ids: Iterable[str]) -> dict[str, str]:
        """The status of each of ``job_ids`` that still has a record."""
        ids = list(job_ids)
        if not ids:
            return {}
        rows = self._connection().execute(
            f"SELECT id, status FROM jobs WHERE id IN ({_marks(ids)})", ids
        )
        return {row["id"]: row["status"] for row in rows}

    # -- writing -------------------------------------------------------------------------

    def count_by_status(self) -> dict[str, int]:
        """How many jobs have each status (every status listed, 0 when none)."""
        rows = self._connection().execute("SELECT status, COUNT(*) FROM jobs GROUP BY status")
        return {**dict.fromkeys(STATUSES, 0), **dict(rows.fetchall())}

    def create(self, job_id: str, model: str, args: dict) -> Job:
        """Record a new queued job and wake the supervisor."""
        job = Job(id=job_id, model=model, status=QUEUED, args=args, created=time.time())
        values = {name: getattr(job, name) for name in ("id", "model", "status", "created")}
        values["args"] = dumps(args)
        self._connection().execute(
            f"INSERT INTO jobs ({', '.join(values)}) VALUES ({_marks(values)})",
            list(values.values()),
        )
        wakeup.wake(self.wakeup_path)
        return job

    def claim(self, models: Sequence[str]) -> Job | None:
        """Mark the oldest queued job of ``models`` as running and return it (``None`` if none)."""
        if not models:
            return None
        with self._transaction() as connection:
            row = connection.execute(
                f"SELECT seq FROM jobs WHERE status = ? AND model IN ({_marks(models)}) "
                "ORDER BY seq LIMIT 1",
                [QUEUED, *models],
            ).fetchone()
            if row is None:
                return None
            connection.execute(
                "UPDATE jobs SET status = ?, started = ? WHERE seq = ?",
                (RUNNING, time.time(), row["seq"]),
            )
            claimed = connection.execute("SELECT * FROM jobs WHERE seq = ?", (row["seq"],))
            return _job(claimed.fetchone())

    def set_pid(self, job_id: str, pid: int) -> None:
        """Record the process running the job."""
        self._connection().execute("UPDATE jobs SET pid = ? WHERE id = ?", (pid, job_id))

    def report(
        self, job_id: str, progress: float | None, metrics: dict | None, message: str | None
    ) -> None:
        """Record a running job's progress, metrics and message (``None`` keeps the old one)."""
        self._connection().execute(
            "UPDATE jobs SET progress = COALESCE(?, progress), metrics = COALESCE(?, metrics), "
            "message = COALESCE(?, message) WHERE id = ? AND status = ?",
            (progress, _json(metrics), message, job_id, RUNNING),
        )

    def finish(
        self,
        job_id: str,
        status: str,
        *,
        result: Any = None,
        error: str | None = None,
        only_from: Sequence[str] = (RUNNING,),
    ) -> bool:
        """Give the job its final ``status`` if it is currently in one of ``only_from``.

        Returns whether it changed: a job already finished (or cancelled) keeps its status.
        """
        cursor = self._connection().execute(
            "UPDATE jobs SET status = ?, finished = ?, result = ?, error = ? "
            f"WHERE id = ? AND status IN ({_marks(only_from)})",
            [status, time.time(), _json(result), error, job_id, *only_from],
        )
        return cursor.rowcount == 1

    def cancel(self, job_id: str) -> str | None:
        """Mark a queued or running job cancelled; return the status it had (``None`` if it
        was not active). The supervisor, woken, stops a running job's process and removes its
        files when it ends; a queued job's files are removed here.
        """
        with self._transaction() as connection:
            row = connection.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None or row["status"] not in ACTIVE:
                return None
            connection.execute(
                "UPDATE jobs SET status = ?, finished = ? WHERE id = ?",
                (CANCELLED, time.time(), job_id),
            )
        if row["status"] == QUEUED:
            self.remove_files(job_id)
        wakeup.wake(self.wakeup_path)
        return row["status"]

    def interrupt_running(self, message: str) -> list[str]:
        """Mark every running job interrupted (their processes are gone); return their ids."""
        with self._transaction() as connection:
            rows = connection.execute("SELECT id FROM jobs WHERE status = ?", (RUNNING,))
            ids = [row["id"] for row in rows]
            connection.execute(
                "UPDATE jobs SET status = ?, finished = ?, error = ? WHERE status = ?",
                (INTERRUPTED, time.time(), message, RUNNING),
            )
        return ids

    def delete(self, job_id: str) -> bool:
        """Remove a finished job's record and directory; active jobs are kept."""
        cursor = self._connection().execute(
            f"DELETE FROM jobs WHERE id = ? AND status IN ({_marks(FINISHED)})",
            [job_id, *FINISHED],
        )
        if cursor.rowcount == 1:
            self.remove_dir(job_id)
        return cursor.rowcount == 1

    def prune(self, finished_before: float) -> list[str]:
        """Remove the finished jobs (records and directories) finished before this time."""
        with self._transaction() as connection:
            condition = f"status IN ({_marks(FINISHED)}) AND finished < ?"
            params = [*FINISHED, finished_before]
            ids = [
                row["id"]
                for row in connection.execute(f"SELECT id FROM jobs WHERE {condition}", params)
            ]
            connection.execute(f"DELETE FROM jobs WHERE {condition}", params)
        for job_id in ids:
            self.remove_dir(job_id)
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

    def remove_files(self, job_id: str) -> None:
        """Remove the job's uploaded files (its log stays)."""
        shutil.rmtree(self.files_dir(job_id), ignore_errors=True)

    def remove_dir(self, job_id: str) -> None:
        """Remove the job's directory: files and log."""
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)


def _marks(values: Sequence) -> str:
    return ", ".join("?" * len(values))


def _job(row: sqlite3.Row) -> Job:
    values = {name: row[name] for name in _COLUMNS}
    for name in _JSON_COLUMNS:
        if values[name] is not None:
            values[name] = json.loads(values[name])
    return Job(**values)


def _json(value: Any) -> str | None:
    return None if value is None else dumps(value)
