"""Upkeep of the job records: interrupt the running jobs whose owner stopped sending
heartbeats (it died, or lost the database), and remove finished jobs past their retention.

The local supervisor does it between its rounds; in a Celery set-up every ``deepserve
worker`` does it in a thread and every ``deepserve run`` in a helper process
(``python -m deepserve.jobs.maintenance``), so that a job is never left ``running`` when its
worker died, even when no worker is left. Each change is conditional on the job's status:
several of them working at once is harmless.
"""

from __future__ import annotations

import argparse
import logging
import logging.config
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from ..logs import FORMATS, logging_config
from . import interruptions
from .store import RUNNING, Job, JobStore, database_url

log = logging.getLogger("deepserve")

#: Seconds between two looks for running jobs without a recent heartbeat.
REAP_INTERVAL = 2.0
#: Seconds between two prunings of old jobs.
PRUNE_INTERVAL = 3600.0
#: Default seconds without a heartbeat after which a running job is interrupted.
HEARTBEAT_TIMEOUT = 30.0


class Maintenance:
    """Interrupts stale running jobs and prunes old finished ones, when due."""

    def __init__(self, store: JobStore, *, heartbeat_timeout: float, retention_days: float) -> None:
        self.store = store
        self.heartbeat_timeout = heartbeat_timeout
        self.retention = retention_days * 86400
        self._next_reap = 0.0
        self._next_prune = 0.0

    def step(self) -> None:
        """Do what is due: reap (every few seconds), prune (hourly; never with retention 0)."""
        now = time.time()
        if now >= self._next_reap:
            self._next_reap = now + REAP_INTERVAL
            self.interrupt_stale()
        if self.retention and now >= self._next_prune:
            self._next_prune = now + PRUNE_INTERVAL
            removed = self.store.prune(finished_before=now - self.retention)
            if removed:
                log.info("pruned %d finished jobs", len(removed))

    def interrupt_stale(self) -> list[str]:
        """Interrupt the running jobs whose runner sent no heartbeat for the timeout; return
        their ids."""
        timeout = self.heartbeat_timeout
        found = self.store.interrupt_stale(
            time.time() - timeout, lambda job: interruptions.silent_runner(job, timeout)
        )
        for job in found:
            log.warning("job %s: no heartbeat from its runner %s: interrupted", job.id, job.worker)
        return [job.id for job in found]

    def is_stale(self, job: Job) -> bool:
        """Whether ``job`` runs without a recent heartbeat (:meth:`interrupt_stale` ends it)."""
        limit = time.time() - self.heartbeat_timeout
        return job.status == RUNNING and (job.heartbeat is None or job.heartbeat < limit)

    def run(self, stopped: Callable[[], bool]) -> None:
        """Do the upkeep until ``stopped()`` (which waits a moment, then says) is true."""
        while not stopped():
            try:
                self.step()
            except sa.exc.OperationalError as error:  # the database is away: retry, quietly
                log.warning("job maintenance: %s; retrying", error.orig or error)
            except Exception:
                log.exception("job maintenance failed; retrying")


def options(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line of a helper process (``parser`` holds its own arguments; see
    :class:`~.helper.HelperProcess`) and set up its logging."""
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--retention-days", type=float, default=30)
    parser.add_argument("--heartbeat-timeout", type=float, default=HEARTBEAT_TIMEOUT)
    parser.add_argument("--parent-pid", type=int, default=None)
    parser.add_argument(
        "--previous-exit", default=None, help="how the previous helper ended (on a restart)"
    )
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--log-format", choices=FORMATS, default="text")
    parsed = parser.parse_args(argv)
    logging.config.dictConfig(logging_config(parsed.log_format, parsed.log_level, "jobs"))
    parsed.data_dir = parsed.data_dir.resolve()
    if parsed.parent_pid is None:
        parsed.parent_pid = os.getppid()
    return parsed


def main(argv: list[str] | None = None) -> None:
    """``python -m deepserve.jobs.maintenance --data-dir DIR [options]``; the database is
    ``$DEEPSERVE_DATABASE``. Runs until SIGTERM/SIGINT, or until its parent process dies."""
    parsed = options(argparse.ArgumentParser(prog="python -m deepserve.jobs.maintenance"), argv)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: sys.exit(0))
    if parsed.previous_exit:
        log.info("job maintenance restarted: the previous one %s", parsed.previous_exit)
    maintenance = Maintenance(
        JobStore(parsed.data_dir, database_url()),
        heartbeat_timeout=parsed.heartbeat_timeout,
        retention_days=parsed.retention_days,
    )

    def parent_gone() -> bool:
        time.sleep(REAP_INTERVAL / 2)
        return os.getppid() != parsed.parent_pid

    maintenance.run(parent_gone)


if __name__ == "__main__":
    main()
