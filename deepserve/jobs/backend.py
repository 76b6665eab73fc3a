"""Where jobs (trainings, asynchronous predictions) run, chosen once at start-up
(``deepserve run --jobs``): on this machine, by a supervisor beside the server
(:class:`LocalBackend`, the default), or on Celery workers
(:class:`deepserve.jobs.celery_backend.CeleryBackend`); :mod:`.backends` chooses.

Either way the HTTP routes read and write the job records themselves (:attr:`JobBackend.store`);
the backend is told when a job is queued or cancelled, names the helper process that
``deepserve run`` starts beside gunicorn, and says why jobs cannot be queued (that helper is
down) or why queued ones do not start.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence

from . import presence, slots, wakeup
from .helper import HelperProcess, Outage
from .maintenance import HEARTBEAT_TIMEOUT
from .store import Job, JobStore


class JobBackend(abc.ABC):
    """Runs the jobs recorded in ``store``.

    ``retention_days``: finished jobs are removed this long after they finished (0: never);
    ``heartbeat_timeout``: a running job whose runner sent no heartbeat for this many seconds
    is marked interrupted; ``max_queued_jobs``: no job is created while this many are queued
    (0: no limit).
    """

    def __init__(
        self,
        store: JobStore,
        *,
        retention_days: float = 30,
        heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
        max_queued_jobs: int = 0,
    ) -> None:
        self.store = store
        self.retention_days = retention_days
        self.heartbeat_timeout = heartbeat_timeout
        self.max_queued_jobs = max_queued_jobs
        #: The helper process of the server, once :meth:`helper` made it (``None`` in an app
        #: that runs no helper of its own, such as one under test).
        self.helper_process: HelperProcess | None = None

    @abc.abstractmethod
    def submit(self, job: Job) -> None:
        """Have the newly recorded (queued) ``job`` run."""

    @abc.abstractmethod
    def cancel(self, job_id: str) -> str | None:
        """Cancel a queued or running job (its process is stopped); return the status it
        had, or ``None`` if it was not active."""

    def helper(self, models: Sequence[str], log_level: str, log_format: str) -> HelperProcess:
        """The process ``deepserve run`` starts beside gunicorn for the jobs of ``models``; kept
        (:attr:`helper_process`) so that the API can tell when it is down."""
        self.helper_process = self._new_helper(models, log_level, log_format)
        return self.helper_process

    def outage(self) -> Outage | None:
        """Why jobs cannot be queued now (the server's helper is down), or ``None``."""
        return self.helper_process.outage() if self.helper_process is not None else None

    def waiting_reason(self, model: str, kind: str) -> str | None:
        """Why a queued job of ``model`` and ``kind`` does not start as things are now, or
        ``None`` (it is about to start, as far as the server can tell)."""
        return None

    @abc.abstractmethod
    def _new_helper(self, models: Sequence[str], log_level: str, log_format: str) -> HelperProcess:
        """A new helper process for ``models``."""

    def _helper(
        self,
        module: str,
        name: str,
        log_level: str,
        log_format: str,
        arguments: Sequence[str] = (),
    ) -> HelperProcess:
        return HelperProcess(
            module,
            self.store.data_dir,
            name=name,
            retention_days=self.retention_days,
            heartbeat_timeout=self.heartbeat_timeout,
            log_level=log_level,
            log_format=log_format,
            arguments=arguments,
        )


class LocalBackend(JobBackend):
    """Jobs run on this machine, started by the supervisor, which the routes wake up."""

    def __init__(
        self,
        store: JobStore,
        *,
        max_jobs: int = 1,
        max_predictions: int = slots.MAX_ASYNC_PREDICTIONS,
        **settings,
    ) -> None:
        super().__init__(store, **settings)
        self.max_jobs = max_jobs
        self.max_predictions = max_predictions

    def submit(self, job: Job) -> None:
        wakeup.wake(self.store.wakeup_path)

    def cancel(self, job_id: str) -> str | None:
        status = self.store.cancel(job_id)
        wakeup.wake(self.store.wakeup_path)
        return status

    def waiting_reason(self, model: str, kind: str) -> str | None:
        """Queued jobs wait while the server's supervisor is down, while no supervisor runs
        on the data directory, while the one that does runs other models' jobs, or while
        their kind's slots are all taken."""
        outage = self.outage()
        if outage is not None:
            return (
                f"The job waits: {outage.reason} and is restarted in "
                f"{max(1, math.ceil(outage.retry_after))} s."
            )
        where = self.store.data_dir
        running = presence.current(self.store.jobs_dir / presence.FILE_NAME)
        if running is None:
            return (
                f"No server runs the jobs of {where}: the job waits until one "
                f"serving model '{model}' starts with this data directory."
            )
        if "models" in running and model not in running["models"]:
            return (
                f"Another server (pid {running['server']}) holds the job supervisor lock of "
                f"{where} and does not serve model '{model}': the job waits until that server "
                f"stops and one serving '{model}' takes over."
            )
        if "slots" not in running:  # announced by an older supervisor
            return None
        pool = slots.for_kind([slots.Slots.load(each) for each in running["slots"]], kind)
        busy = self.store.count_running([running["name"]], pool.kinds)
        if busy < pool.limit:
            return None
        return f"The job waits for a free slot: {pool.describe(busy)}."

    def _new_helper(self, models: Sequence[str], log_level: str, log_format: str) -> HelperProcess:
        arguments = [
            "--max-jobs", str(self.max_jobs),
            "--max-async-predictions", str(self.max_predictions),
            *models,
        ]  # fmt: skip
        return self._helper(
            "deepserve.jobs.supervisor", "job supervisor", log_level, log_format, arguments
        )
