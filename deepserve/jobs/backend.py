"""Where training jobs run, chosen once at start-up (``deepserve run --jobs``): on this
machine, by a supervisor beside the server (:class:`LocalBackend`, the default), or on
Celery workers (:class:`deepserve.jobs.celery_backend.CeleryBackend`); :mod:`.backends` chooses.

Either way the HTTP routes read and write the job records themselves (:attr:`JobBackend.store`);
the backend is told when a job is queued or cancelled, and names the helper process that
``deepserve run`` starts beside gunicorn.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from . import wakeup
from .maintenance import HEARTBEAT_TIMEOUT
from .process import HelperProcess
from .store import Job, JobStore


class JobBackend(abc.ABC):
    """Runs the jobs recorded in ``store``.

    ``retention_days``: finished jobs are removed this long after they finished (0: never);
    ``heartbeat_timeout``: a running job whose runner sent no heartbeat for this many seconds
    is marked interrupted.
    """

    def __init__(
        self,
        store: JobStore,
        *,
        retention_days: float = 30,
        heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
    ) -> None:
        self.store = store
        self.retention_days = retention_days
        self.heartbeat_timeout = heartbeat_timeout

    @abc.abstractmethod
    def submit(self, job: Job) -> None:
        """Have the newly recorded (queued) ``job`` run."""

    @abc.abstractmethod
    def cancel(self, job_id: str) -> str | None:
        """Cancel a queued or running job (its process is stopped); return the status it
        had, or ``None`` if it was not active."""

    @abc.abstractmethod
    def helper(self, models: Sequence[str], log_level: str, log_format: str) -> HelperProcess:
        """The process ``deepserve run`` starts beside gunicorn when ``models`` train."""

    def _helper(
        self, module: str, log_level: str, log_format: str, arguments: Sequence[str] = ()
    ) -> HelperProcess:
        return HelperProcess(
            module,
            self.store.data_dir,
            retention_days=self.retention_days,
            heartbeat_timeout=self.heartbeat_timeout,
            log_level=log_level,
            log_format=log_format,
            arguments=arguments,
        )


class LocalBackend(JobBackend):
    """Jobs run on this machine, started by the supervisor, which the routes wake up."""

    def __init__(self, store: JobStore, *, max_jobs: int = 1, **settings) -> None:
        super().__init__(store, **settings)
        self.max_jobs = max_jobs

    def submit(self, job: Job) -> None:
        wakeup.wake(self.store.wakeup_path)

    def cancel(self, job_id: str) -> str | None:
        status = self.store.cancel(job_id)
        wakeup.wake(self.store.wakeup_path)
        return status

    def helper(self, models: Sequence[str], log_level: str, log_format: str) -> HelperProcess:
        arguments = ["--max-jobs", str(self.max_jobs), *models]
        return self._helper("deepserve.jobs.supervisor", log_level, log_format, arguments)
