"""The supervisor: one process per server that runs the queued training jobs.

``deepserve run`` starts it from the gunicorn master (:class:`SupervisorProcess`). It starts up
to ``max_jobs`` job processes (oldest queued first), reaps them, stops the cancelled ones,
prunes old finished jobs, and at start-up marks the jobs left ``running`` by a dead server as
``interrupted``. It stops its jobs and exits when asked to (SIGTERM/SIGINT) or when the server
disappears. Only one supervisor per data directory is active (a file lock); a second one
waits until the lock is free.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import logging
import logging.config
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ..logs import FORMATS, logging_config
from ..paths import DATA_DIR_VARIABLE
from . import wakeup
from .store import ERROR, INTERRUPTED, RUNNING, Job, JobStore

log = logging.getLogger("deepserve")

#: Seconds a job has to end after SIGTERM (cancel, server stop) before it is killed.
STOP_GRACE = 5.0
#: Seconds between checks when nothing wakes the supervisor.
IDLE_TIMEOUT = 1.0
#: Seconds between database checks where the wake-up pipe cannot be created.
POLL_INTERVAL = 0.2
#: Seconds between two prunings of old jobs.
PRUNE_INTERVAL = 3600.0
INTERRUPTED_MESSAGE = "The server stopped while the job was running."


@dataclasses.dataclass
class Child:
    """A running job process, and when it was asked to stop."""

    process: subprocess.Popen
    stop_requested: float | None = None

    def stop(self, now: float) -> None:
        """SIGTERM the job's process group, then SIGKILL it after :data:`STOP_GRACE`."""
        if self.stop_requested is None:
            self.stop_requested = now
            self._signal(signal.SIGTERM)
        elif now - self.stop_requested > STOP_GRACE:
            self._signal(signal.SIGKILL)

    def _signal(self, sig: int) -> None:
        # Not reaped yet, so the group id cannot have been reused by another process.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)


class Supervisor:
    """Runs the queued jobs of ``models`` from ``store``."""

    def __init__(
        self,
        store: JobStore,
        models: Sequence[str],
        *,
        max_jobs: int = 1,
        retention_days: float = 30,
        parent_pid: int | None = None,
    ) -> None:
        self.store = store
        self.models = list(models)
        self.max_jobs = max_jobs
        self.retention = retention_days * 86400
        self.parent_pid = parent_pid if parent_pid is not None else os.getppid()
        self.children: dict[str, Child] = {}
        self.stopping = False
        self._next_prune = 0.0

    def run(self) -> None:
        """Supervise until asked to stop or the parent process is gone."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._request_stop)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the listener
        self.store.jobs_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self.store.jobs_dir / "supervisor.lock", "wb") as lock:
            if not self._acquire(lock):
                return
            listener = wakeup.Listener(self.store.wakeup_path)
            timeout = IDLE_TIMEOUT if listener.shared else POLL_INTERVAL
            try:
                self.recover()
                while not self.stopping:
                    self.step()
                    if not self.stopping:
                        listener.wait(timeout)
            finally:
                self.stop_all()
                listener.close()

    def _acquire(self, lock) -> bool:
        """Take the data directory's supervisor lock, waiting while another supervisor has it."""
        waiting = False
        while not self._should_stop():
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if not waiting:
                    log.warning("another server runs the jobs of %s: waiting", self.store.data_dir)
                    waiting = True
                time.sleep(IDLE_TIMEOUT)
        return False

    def _request_stop(self, _signum, _frame) -> None:
        self.stopping = True

    def _should_stop(self) -> bool:
        if os.getppid() != self.parent_pid:
            log.error("the server process is gone: stopping the training jobs")
            self.stopping = True
        return self.stopping

    def recover(self) -> None:
        """Mark the jobs a dead server left running as interrupted, and drop their files."""
        for job_id in self.store.interrupt_running(INTERRUPTED_MESSAGE):
            log.warning("job %s was running when the server stopped: interrupted", job_id)
            self.store.remove_files(job_id)

    def step(self) -> None:
        """One round: reap, stop the cancelled, start the queued, prune."""
        if self._should_stop():
            return
        try:
            self.reap()
            self.stop_cancelled()
            self.start_queued()
            self.prune()
        except Exception:  # a busy database or a full disk must not end supervision
            log.exception("job supervision failed; retrying")

    def reap(self) -> None:
        """Collect ended job processes; a job that did not record its end failed."""
        for job_id, child in list(self.children.items()):
            code = child.process.poll()
            if code is not None:
                self._ended(job_id, ERROR, _exit_message(code))

    def _ended(self, job_id: str, status: str, message: str) -> None:
        """Record the end of a job's process, unless the job recorded its own end."""
        if self.store.finish(job_id, status, error=message):
            log.warning("job %s: %s", job_id, message)
        self.store.remove_files(job_id)
        del self.children[job_id]  # only now: a failed write is retried at the next step

    def stop_cancelled(self) -> None:
        """Stop the processes of jobs that are no longer running (cancelled or removed)."""
        statuses = self.store.statuses(self.children)
        now = time.monotonic()
        for job_id, child in self.children.items():
            if statuses.get(job_id) != RUNNING:
                if child.stop_requested is None:
                    log.info("job %s was cancelled: stopping its process", job_id)
                child.stop(now)

    def start_queued(self) -> None:
        """Start the oldest queued jobs while fewer than ``max_jobs`` run."""
        while len(self.children) < self.max_jobs:
            job = self.store.claim(self.models)
            if job is None:
                return
            self.start(job)

    def start(self, job: Job) -> None:
        """Start the process of a claimed job."""
        command = [sys.executable, "-m", "deepserve.jobs.execute", job.id, str(os.getpid())]
        try:
            self.store.job_dir(job.id).mkdir(parents=True, exist_ok=True)
            with open(self.store.log_path(job.id), "ab") as output:
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
        except OSError as error:
            self.store.finish(job.id, ERROR, error=f"Cannot start the job: {error}")
            self.store.remove_files(job.id)
            return
        self.store.set_pid(job.id, process.pid)
        self.children[job.id] = Child(process)
        log.info("job %s (model %r) started, pid %s", job.id, job.model, process.pid)

    def prune(self) -> None:
        """Remove finished jobs older than the retention (hourly; never with retention 0)."""
        now = time.time()
        if not self.retention or now < self._next_prune:
            return
        self._next_prune = now + PRUNE_INTERVAL
        removed = self.store.prune(finished_before=now - self.retention)
        if removed:
            log.info("pruned %d finished jobs", len(removed))

    def stop_all(self) -> None:
        """Stop every job process (SIGTERM, then SIGKILL) and mark the jobs interrupted."""
        if self.children:
            log.info("stopping %d running jobs (they become interrupted)", len(self.children))
        deadline = time.monotonic() + STOP_GRACE + 1
        alive = list(self.children.values())
        while alive and time.monotonic() < deadline:
            for child in alive:
                child.stop(time.monotonic())
            time.sleep(0.05)
            alive = [child for child in alive if child.process.poll() is None]
        for job_id in list(self.children):
            try:
                self._ended(job_id, INTERRUPTED, INTERRUPTED_MESSAGE)
            except Exception:
                log.exception("cannot record that job %s was interrupted", job_id)


def _exit_message(code: int) -> str:
    if code < 0:
        return f"The job process was killed by {signal.Signals(-code).name} (see the job log)."
    return f"The job process exited with code {code} before finishing (see the job log)."


@dataclasses.dataclass
class SupervisorProcess:
    """Starts and stops a supervisor as a child process (of the gunicorn master)."""

    data_dir: Path
    models: Sequence[str]
    max_jobs: int = 1
    retention_days: float = 30
    log_level: str = "info"
    log_format: str = "text"
    process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the supervisor; it stops by itself if this process dies."""
        command = [
            sys.executable,
            "-m",
            "deepserve.jobs.supervisor",
            "--data-dir",
            str(self.data_dir),
            "--max-jobs",
            str(self.max_jobs),
            "--retention-days",
            str(self.retention_days),
            "--parent-pid",
            str(os.getpid()),
            "--log-level",
            self.log_level,
            "--log-format",
            self.log_format,
            *self.models,
        ]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL)

    def stop(self, timeout: float = STOP_GRACE + 5) -> None:
        """Ask the supervisor to stop its jobs and exit; kill it if it does not."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def main(argv: list[str] | None = None) -> None:
    """``python -m deepserve.jobs.supervisor --data-dir DIR [options] MODEL...``"""
    parser = argparse.ArgumentParser(prog="python -m deepserve.jobs.supervisor")
    parser.add_argument("models", nargs="+", metavar="MODEL", help="models whose jobs to run")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--max-jobs", type=int, default=1)
    parser.add_argument("--retention-days", type=float, default=30)
    parser.add_argument("--parent-pid", type=int, default=None)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--log-format", choices=FORMATS, default="text")
    options = parser.parse_args(argv)
    logging.config.dictConfig(logging_config(options.log_format, options.log_level, "jobs"))
    data_dir = options.data_dir.resolve()
    os.environ[DATA_DIR_VARIABLE] = str(data_dir)  # inherited by the jobs (model_dir, ...)
    Supervisor(
        JobStore(data_dir),
        options.models,
        max_jobs=options.max_jobs,
        retention_days=options.retention_days,
        parent_pid=options.parent_pid,
    ).run()


if __name__ == "__main__":
    main()
