"""Jobs (trainings, asynchronous predictions) on Celery workers: ``deepserve run --jobs
celery`` queues them (:class:`CeleryBackend`), ``deepserve worker`` runs them (:class:`Worker`).

A job of either kind is one Celery task, ``deepserve.train`` (its name kept from when jobs only
trained, so that queued tasks survive an upgrade), whose only argument is the job id (its task
id is the job id too). Each model has its own queues, ``deepserve.<model>`` for its trainings
and ``deepserve.<model>.predictions`` for its asynchronous predictions, so that a worker
consumes only the jobs of the models (``deepserve worker --model``) and of the kinds
(``--kind``) it runs: a worker of its own keeps predictions from waiting behind a long
training. The job record
stays the truth: a worker claims the job in the record (queued → running) before running it,
so a task delivered twice, late, or for a cancelled job does nothing.

A worker runs each job as the local supervisor does (:class:`~.process.JobProcess`): in a
fresh process, so that its memory, GPU memory included, is freed when the job ends. The
task's thread waits on that process and refreshes the job's heartbeat every second; when the
record says the job is no longer running (cancelled through any replica, or interrupted) it
stops the process. Celery settings, and why:

- the ``threads`` pool: a task only waits on its job's process, which is the worker's own
  child, so the job notices at once when the worker dies (and ends itself);
- ``acks_late``: a message is acknowledged when its job has ended, so the message of a job
  whose worker died before claiming it is delivered again (Redis: after its visibility
  timeout, one hour by default);
- a prefetch of one message per job slot: the other jobs wait in the broker for any worker,
  not in a busy one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Sequence

import sqlalchemy as sa

from ..extras import require
from .backend import JobBackend
from .helper import HelperProcess
from .maintenance import REAP_INTERVAL, Maintenance
from .process import JobProcess
from .store import ERROR, INTERRUPTED, KINDS, PREDICT, QUEUED, TRAIN, Job, JobStore

log = logging.getLogger("deepserve")

TASK = "deepserve.train"
#: Seconds between two heartbeats of a running job (and checks that it is still running).
BEAT_INTERVAL = 1.0
#: What the jobs of each kind are called, in messages.
KIND_NOUNS = {TRAIN: "training jobs", PREDICT: "asynchronous predictions"}
#: Seconds between two announcements of a worker (see :meth:`Worker.announce`): well within the
#: heartbeat timeout (at least 5 s), after which the servers take it for gone.
ANNOUNCE_INTERVAL = 2.0
WORKER_STOPPED_MESSAGE = "The worker stopped while the job was running."


def queue_name(model: str, kind: str = TRAIN) -> str:
    """The Celery queue of a model's jobs of ``kind``."""
    return f"deepserve.{model}" if kind == TRAIN else f"deepserve.{model}.predictions"


def celery_app(broker: str):
    """The Celery application of deepserve's jobs, on ``broker`` (no result backend: results
    go to the job records)."""
    celery = require("celery", "celery", "Training on Celery workers")
    app = celery.Celery("deepserve", broker=broker, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        # A request that queues a job waits a few seconds at most for an unreachable broker.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 1},
    )
    return app


class CeleryBackend(JobBackend):
    """Jobs are queued as Celery tasks on the model's queue, and run by workers."""

    def __init__(self, store: JobStore, broker: str, **settings) -> None:
        super().__init__(store, **settings)
        self.app = celery_app(broker)

    def submit(self, job: Job) -> None:
        queue = queue_name(job.model, job.kind)
        self.app.send_task(TASK, args=[job.id], task_id=job.id, queue=queue)

    def cancel(self, job_id: str) -> str | None:
        # A running job's worker sees the record change at its next heartbeat and stops it.
        status = self.store.cancel(job_id)
        if status == QUEUED:
            try:  # spares workers the message; they would skip it anyway
                self.app.control.revoke(job_id)
            except Exception:
                log.warning("job %s: cannot revoke its task", job_id, exc_info=True)
        return status

    def waiting_reason(self, model: str, kind: str) -> str | None:
        """Queued jobs wait while no worker of ``model`` announced itself lately (see
        :meth:`Worker.announce`), or while those that did have all their slots taken."""
        timeout = self.heartbeat_timeout
        live = self.store.live_workers(model, kind, time.time() - timeout)
        if not live:
            return (
                f"No Celery worker runs the {KIND_NOUNS[kind]} of model '{model}' (none was seen "
                f"in the last {timeout:g} s): the job waits until one starts (deepserve worker "
                f"--model {model} --kind {kind})."
            )
        busy, total = self.store.count_running(list(live)), sum(live.values())
        if busy < total:
            return None
        jobs = "1 job" if busy == 1 else f"{busy} jobs"
        return (
            f"The job waits for a free slot: the Celery workers running model '{model}' run "
            f"{jobs}, the most they take at a time (their --max-jobs)."
        )

    def _new_helper(self, models: Sequence[str], log_level: str, log_format: str) -> HelperProcess:
        return self._helper("deepserve.jobs.maintenance", "job maintenance", log_level, log_format)


class Worker:
    """A Celery worker running the jobs of ``models`` of ``kinds`` (from their queues), up to
    ``max_jobs`` at a time. It also interrupts running jobs that lost their worker (see
    :mod:`.maintenance`); pruning old jobs is left to the servers."""

    def __init__(
        self,
        store: JobStore,
        broker: str,
        models: Sequence[str],
        *,
        max_jobs: int = 1,
        kinds: Sequence[str] = KINDS,
        heartbeat_timeout: float,
        log_level: str = "info",
    ) -> None:
        self.store = store
        self.models = list(models)
        self.kinds = list(kinds)
        self.max_jobs = max_jobs
        self.log_level = log_level
        self.name = f"deepserve.{os.getpid()}@{socket.gethostname()}"
        self.maintenance = Maintenance(store, heartbeat_timeout=heartbeat_timeout, retention_days=0)
        self.stopping = threading.Event()
        self.app = celery_app(broker)

        def train(task, job_id: str) -> None:  # bound to the Celery task, for its retries
            self.run_job(task, job_id)

        self.app.task(name=TASK, shared=False, bind=True)(train)
        signals = require("celery.signals", "celery", "Training on Celery workers")
        signals.worker_shutting_down.connect(self._shutting_down, weak=False)

    def run(self) -> None:
        """Run the worker until it is stopped (SIGTERM, SIGINT)."""
        threading.Thread(target=self._maintain, name="job-maintenance", daemon=True).start()
        self.app.worker_main(
            [
                "worker",
                "--pool=threads",
                f"--concurrency={self.max_jobs}",
                f"--queues={','.join(self.queues())}",
                f"--hostname={self.name}",
                f"--loglevel={self.log_level.upper()}",
                "--without-gossip",  # no chatter between workers: the records coordinate
                "--without-mingle",
            ]
        )

    def queues(self) -> list[str]:
        """The Celery queues this worker consumes."""
        return [queue_name(model, kind) for model in self.models for kind in self.kinds]

    def run_job(self, task, job_id: str) -> None:
        """The task: claim job ``job_id``, run its process to the end, record how it ended.
        While the job database cannot be reached, the task is retried later (1, 2, 4... s,
        then every minute)."""
        try:
            job = self.store.claim_job(job_id, self.name)
        except sa.exc.SQLAlchemyError as error:
            log.warning("job %s: the job database cannot be reached; retrying later", job_id)
            countdown = min(2**task.request.retries, 60)
            raise task.retry(exc=error, countdown=countdown, max_retries=None) from error
        if job is None:
            log.info("job %s is not queued (cancelled, removed or taken): skipped", job_id)
            return
        child = JobProcess.launch(self.store, job)
        if child is None:
            return
        next_beat = 0.0
        while child.poll() is None:
            now = time.monotonic()
            if child.stop_requested is not None or self.stopping.is_set():
                child.stop(now)
            elif now >= next_beat:
                next_beat = now + BEAT_INTERVAL
                if not self._still_running(job_id):
                    log.info("job %s was cancelled: stopping its process", job_id)
                    child.stop(now)
            time.sleep(0.05)
        if self.stopping.is_set():
            child.record_end(self.store, INTERRUPTED, WORKER_STOPPED_MESSAGE)
        else:
            child.record_end(self.store, ERROR, child.exit_message())

    def _still_running(self, job_id: str) -> bool:
        """Refresh the job's heartbeat; whether its record still says running."""
        try:
            return job_id in self.store.beat([job_id])
        except sa.exc.OperationalError as error:  # the database is away: keep training
            log.warning("job %s: cannot refresh its heartbeat: %s", job_id, error.orig or error)
        except Exception:  # nor may anything else leave the job's process unwatched
            log.exception("job %s: cannot refresh its heartbeat", job_id)
        return True

    def _shutting_down(self, **_kwargs) -> None:
        log.info("the worker stops: its running jobs are stopped and become interrupted")
        self.stopping.set()

    def _maintain(self) -> None:
        next_announcement = 0.0

        def stopped() -> bool:
            nonlocal next_announcement
            if time.monotonic() >= next_announcement:
                next_announcement = time.monotonic() + ANNOUNCE_INTERVAL
                self.announce()
            return self.stopping.wait(REAP_INTERVAL / 2)

        self.maintenance.run(stopped)
        with contextlib.suppress(Exception):  # seen as gone after the timeout anyway
            self.store.withdraw_worker(self.name)

    def announce(self) -> None:
        """Tell the servers that this worker runs (and which models, how many jobs at once),
        so that a queued job can say why it waits."""
        try:
            self.store.announce_worker(self.name, self.models, self.kinds, self.max_jobs)
        except Exception as error:  # the database is away: the heartbeats say so too
            log.warning("cannot announce the worker: %s", error)
