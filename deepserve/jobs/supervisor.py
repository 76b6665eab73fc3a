"""The supervisor: one process per server that runs the queued jobs (the local
backend).

``deepserve run`` starts it from the gunicorn master (a :class:`~.helper.HelperProcess`, which
restarts it if it dies). It starts the queued jobs, oldest first, in their slots
(:mod:`.slots`: ``max_jobs`` trainings, ``max_predictions`` asynchronous predictions), keeps
their heartbeats fresh, reaps them, stops the cancelled ones, does the records' upkeep
(:mod:`.maintenance`), and at start-up marks the jobs the previous supervisor left ``running``
as ``interrupted`` (saying how that one ended, when restarted). It stops its jobs and exits when
asked to (SIGTERM/SIGINT) or when the server disappears. Only one supervisor per data directory
is active (a file lock); a second one waits until the lock is free. The active one announces
itself and the models it runs (:mod:`.presence`), so that a server can say why a queued job
does not start.
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import logging
import os
import signal
import socket
import time
from collections.abc import Sequence
from pathlib import Path

from ..paths import DATA_DIR_VARIABLE
from . import interruptions, presence, slots, wakeup
from .maintenance import HEARTBEAT_TIMEOUT, Maintenance, options
from .process import STOP_GRACE, JobProcess
from .store import DONE, ERROR, INTERRUPTED, Job, JobStore, database_url

log = logging.getLogger("deepserve")

#: Seconds between checks when nothing wakes the supervisor.
IDLE_TIMEOUT = 1.0
#: Seconds between database checks where the wake-up pipe cannot be created.
POLL_INTERVAL = 0.2
INTERRUPTED_MESSAGE = "The server stopped while the job was running."


def owner_name(data_dir: Path) -> str:
    """The name a supervisor gives the jobs it runs: one per machine and data directory
    (the lock makes it unique), the same after a restart."""
    return f"supervisor@{socket.gethostname()}:{data_dir}"


class Supervisor:
    """Runs the queued jobs of ``models`` from ``store``."""

    def __init__(
        self,
        store: JobStore,
        models: Sequence[str],
        *,
        max_jobs: int = 1,
        max_predictions: int = slots.MAX_ASYNC_PREDICTIONS,
        retention_days: float = 30,
        heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
        parent_pid: int | None = None,
        previous_exit: str | None = None,
    ) -> None:
        self.store = store
        self.previous_exit = previous_exit
        self.models = list(models)
        self.slots = slots.plan(max_jobs, max_predictions)
        self.name = owner_name(store.data_dir)
        self.maintenance = Maintenance(
            store, heartbeat_timeout=heartbeat_timeout, retention_days=retention_days
        )
        self.parent_pid = parent_pid if parent_pid is not None else os.getppid()
        self.children: dict[str, JobProcess] = {}
        self.stopping = False
        #: What the jobs stopped when supervision ends are told.
        self.stop_message = INTERRUPTED_MESSAGE

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
            details = {
                "pid": os.getpid(),
                "server": self.parent_pid,
                "models": self.models,
                "name": self.name,
                "slots": [dataclasses.asdict(pool) for pool in self.slots],
            }
            announcement = presence.announce(self.store.jobs_dir / presence.FILE_NAME, details)
            try:
                self.recover()
                while not self.stopping:
                    self.step()
                    if not self.stopping:
                        listener.wait(timeout)
            finally:
                self.stop_all()
                os.close(announcement)
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
            log.error("the server process is gone: stopping the jobs")
            self.stopping = True
            self.stop_message = (
                f"The server (pid {self.parent_pid}) died while the job was running; its job "
                "supervisor stopped the job."
            )
        return self.stopping

    def recover(self) -> None:
        """Mark the jobs the previous supervisor left running when it died as interrupted."""
        how = self.previous_exit
        left = self.store.interrupt_running(
            self.name, lambda job: interruptions.left_running(job, how)
        )
        for job in left:
            log.warning("job %s was left running by the previous supervisor: interrupted", job.id)

    def step(self) -> None:
        """One round: reap, stop the cancelled, start the queued, upkeep."""
        if self._should_stop():
            return
        try:
            self.reap()
            self.stop_cancelled()
            self.start_queued()
            self.maintenance.step()
        except Exception:  # a busy database or a full disk must not end supervision
            log.exception("job supervision failed; retrying")

    def reap(self) -> None:
        """Collect ended job processes; a job that did not record its end failed."""
        for job_id, child in list(self.children.items()):
            if child.poll() is not None:
                self._ended(job_id, ERROR, child.exit_message())

    def _ended(self, job_id: str, status: str, message: str) -> None:
        """Record the end of a job's process, unless the job recorded its own end."""
        self.children[job_id].record_end(self.store, status, message)
        del self.children[job_id]  # only now: a failed write is retried at the next step

    def stop_cancelled(self) -> None:
        """Refresh the running jobs' heartbeats; stop the processes of jobs that are no
        longer running (cancelled, removed, or interrupted by a reaper). A job that recorded
        its own end is exiting by itself: it is stopped only if it is still there after
        :data:`STOP_GRACE`."""
        running = self.store.beat(self.children)
        now = time.monotonic()
        for job_id, child in self.children.items():
            if job_id in running:
                continue
            if child.stop_requested is None and child.finished_at is None:
                job = self.store.get(job_id)
                if job is not None and job.status in (DONE, ERROR):
                    child.finished_at = now
                else:
                    why = job.status if job is not None else "removed"
                    log.info("job %s was %s: stopping its process", job_id, why)
            if child.finished_at is not None:
                if now - child.finished_at <= STOP_GRACE:
                    continue
                if child.stop_requested is None:
                    log.warning("job %s ended but its process did not exit: stopping it", job_id)
            child.stop(now)

    def start_queued(self) -> None:
        """Start the oldest queued jobs of each kind while they have free slots."""
        for pool in self.slots:
            while self._running(pool) < pool.limit:
                job = self.store.claim(self.models, self.name, pool.kinds)
                if job is None:
                    break
                self.start(job)

    def _running(self, pool: slots.Slots) -> int:
        return sum(child.kind in pool.kinds for child in self.children.values())

    def start(self, job: Job) -> None:
        """Start the process of a claimed job."""
        child = JobProcess.launch(self.store, job)
        if child is not None:
            self.children[job.id] = child

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
            alive = [child for child in alive if child.poll() is None]
        for job_id in list(self.children):
            try:
                self._ended(job_id, INTERRUPTED, self.stop_message)
            except Exception:
                log.exception("cannot record that job %s was interrupted", job_id)


def main(argv: list[str] | None = None) -> None:
    """``python -m deepserve.jobs.supervisor --data-dir DIR [options] MODEL...``; the job
    database is ``$DEEPSERVE_DATABASE`` (default: the data directory's SQLite file)."""
    parser = argparse.ArgumentParser(prog="python -m deepserve.jobs.supervisor")
    parser.add_argument("models", nargs="+", metavar="MODEL", help="models whose jobs to run")
    parser.add_argument("--max-jobs", type=int, default=1)
    parser.add_argument("--max-async-predictions", type=int, default=slots.MAX_ASYNC_PREDICTIONS)
    parsed = options(parser, argv)
    os.environ[DATA_DIR_VARIABLE] = str(parsed.data_dir)  # inherited by the jobs (model_dir, ...)
    Supervisor(
        JobStore(parsed.data_dir, database_url()),
        parsed.models,
        max_jobs=parsed.max_jobs,
        max_predictions=parsed.max_async_predictions,
        retention_days=parsed.retention_days,
        heartbeat_timeout=parsed.heartbeat_timeout,
        parent_pid=parsed.parent_pid,
        previous_exit=parsed.previous_exit,
    ).run()


if __name__ == "__main__":
    main()
