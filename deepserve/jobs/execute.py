"""The process of one job: ``python -m deepserve.jobs.execute JOB_ID PARENT_PID``.

Its parent (the local supervisor, or a Celery worker) starts it the same way
(:class:`deepserve.jobs.process.JobProcess`): in its own session (so the whole process group can
be signalled), with stdout and stderr going to the job's log. It loads only the job's model,
rebuilds the arguments through the model's train or predict :class:`ArgumentSpec`, runs
``train`` or ``predict`` through the model record's wrapper while ``deepserve.report`` writes
to the job record (``$DEEPSERVE_DATABASE``, default the data directory's), then records the
result or the error. A prediction's output is rendered as the synchronous answer would be: a
JSON document becomes the job's result, a binary body its ``output`` file. SIGTERM (a cancel,
a stop) ends it, and so does its parent's death: a killed server or worker never leaves a job
behind.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import sys
import threading
from typing import Any

from werkzeug.exceptions import HTTPException

from ..errors import APIError, ModelError
from ..loading import discover
from ..outputs import (
    binary_body,
    checked_json,
    content_type,
    dumps,
    is_json,
    prediction_document,
    write_body,
)
from ..paths import data_dir
from ..progress import set_reporter
from ..record import ModelRecord
from ..targets import from_environment
from .arguments import unpack
from .store import DONE, ERROR, PREDICT, RUNNING, Job, JobStore, database_url

log = logging.getLogger("deepserve")

#: Lower scheduling priority of jobs, so that serving stays responsive.
NICENESS = 19

#: How often (seconds) reported progress is written, and the parent process checked.
FLUSH_INTERVAL = 0.25


class JobReporter:
    """Receives ``deepserve.report`` calls and writes them to the job record.

    Writes happen at most every :data:`FLUSH_INTERVAL` from a thread, which also ends the
    job's process group if its parent (supervisor or worker) disappears. Metrics accumulate:
    each report updates the keys it names.
    """

    def __init__(self, store: JobStore, job_id: str, parent_pid: int) -> None:
        self.store = store
        self.job_id = job_id
        self.parent_pid = parent_pid
        self.progress: float | None = None
        self.metrics: dict[str, Any] = {}
        self.message: str | None = None
        self._dirty = False
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="job-reporter", daemon=True)

    def __call__(self, progress: float | None, metrics: dict | None, message: str | None):
        if metrics is not None:
            dumps(metrics)  # a TypeError here points at the model's own report call
        with self._lock:
            if progress is not None:
                self.progress = progress
            self.metrics.update(metrics or {})
            if message is not None:
                self.message = str(message)
            self._dirty = True

    def start(self) -> None:
        """Receive reports and write them."""
        set_reporter(self)
        self._thread.start()

    def stop(self) -> None:
        """Stop receiving reports and write the last ones."""
        set_reporter(None)
        self._stopped.set()
        self._thread.join()
        self.flush()

    def flush(self) -> None:
        """Write the reports received since the last write."""
        with self._lock:
            if not self._dirty:
                return
            values = (self.progress, dict(self.metrics) or None, self.message)
            self._dirty = False
        self.store.report(self.job_id, *values)

    def _run(self) -> None:
        while not self._stopped.wait(FLUSH_INTERVAL):
            if os.getppid() != self.parent_pid:
                log.error("the process that started the job is gone: ending the job")
                os.killpg(0, signal.SIGKILL)
            try:
                self.flush()
            except Exception:  # a busy database must not end the reporting
                log.exception("cannot record the job's progress")


@dataclasses.dataclass(frozen=True)
class Ending:
    """How a job ended: its final status, result, error message, and a prediction's output
    media type (``None``: the one recorded at submission)."""

    status: str
    result: Any = None
    error: str | None = None
    media_type: str | None = None


def run(job: Job, store: JobStore) -> Ending:
    """Run the job (its model's ``train``, or ``predict``); return how it ended."""
    try:
        record = _load(job.model)
        if job.kind == PREDICT:
            log.info("job %s: predicting with model %r", job.id, job.model)
            ending = _predict(record, job, store)
        else:
            log.info("job %s: training model %r", job.id, job.model)
            result = record.train(unpack(record.train_args, job.args))
            checked_json(record, result)
            ending = Ending(DONE, result)
    except ModelError as error:  # the wrapper already logged the model's traceback
        log.error("job %s failed: %s", job.id, error.data["message"])
        return Ending(ERROR, error=error.data["message"])
    except HTTPException as error:
        message = _message(job, error)
        log.exception("job %s failed: %s", job.id, message)
        return Ending(ERROR, error=message)
    except Exception as error:
        log.exception("job %s failed", job.id)
        return Ending(ERROR, error=f"{type(error).__name__}: {error}")
    log.info("job %s done", job.id)
    return ending


def _predict(record: ModelRecord, job: Job, store: JobStore) -> Ending:
    """Predict; a JSON answer is the result, a binary one goes to the job's output file."""
    output = record.predict(unpack(record.predict_args, job.args), job.media_type)
    if is_json(job.media_type):
        return Ending(DONE, json.loads(prediction_document(record, output)))
    body = binary_body(record, output, job.media_type)
    write_body(body, store.output_path(job.id))
    return Ending(DONE, media_type=content_type(job.media_type, body))


def _load(name: str) -> ModelRecord:
    """Model ``name``: an entry point, or a target of the ``deepserve run`` that queued it."""
    served_targets = [target for target in from_environment() if target.name == name]
    discovery = discover([name], targets=served_targets)
    if not discovery.models:
        reasons = "; ".join(rejection.reason for rejection in discovery.rejections)
        raise ModelError(f"Model '{name}' cannot be loaded: {reasons}")
    return discovery.models[0]


def _message(job: Job, error: HTTPException) -> str:
    if isinstance(error, APIError):
        data = error.data
        errors = f": {json.dumps(data['errors'])}" if "errors" in data else ""
        return f"{data['message']}{errors}"
    return f"Model '{job.model}' failed in {job.kind}: {error}"  # e.g. "409 Conflict: ..."


def _terminate(signum: int, _frame) -> None:
    raise SystemExit(128 + signum)  # unwinds the model's call, so its ``finally`` blocks run


def main(argv: list[str] | None = None) -> int:
    """Run the job named on the command line; its record says how it ended."""
    job_id, parent_pid = argv if argv is not None else sys.argv[1:]
    os.nice(NICENESS)
    signal.signal(signal.SIGTERM, _terminate)
    logging.basicConfig(
        level=logging.INFO, format="[%(asctime)s] [%(levelname)s] %(message)s", stream=sys.stderr
    )
    store = JobStore(data_dir(), database_url())
    job = store.get(job_id)
    if job is None or job.status != RUNNING:
        return 0  # cancelled before it started
    reporter = JobReporter(store, job_id, int(parent_pid))
    reporter.start()
    try:
        ending = run(job, store)
    finally:
        reporter.stop()
        store.remove_files(job_id)
    store.finish(
        job_id,
        ending.status,
        result=ending.result,
        error=ending.error,
        media_type=ending.media_type,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
