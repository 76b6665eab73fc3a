"""``/v2/models/<name>/train/``: training jobs — start, list, get, cancel or remove, read the log.

The routes read and write the job records (:mod:`deepserve.jobs.store`) and tell the job
backend (:mod:`deepserve.jobs.backend`) when a job is queued or cancelled; the backend's
supervisor or workers run the jobs. Models without ``train`` answer 501 on every route.
"""

from __future__ import annotations

import datetime
import functools
import logging
import time
import uuid

import flask
import sqlalchemy as sa
from flask_restx import Api, Namespace, Resource
from marshmallow import fields, validate
from webargs.multidictproxy import MultiDictProxy

from ..arguments import ArgumentSpec
from ..errors import APIError, ModelError, NotSupported, TryLater
from ..jobs import logs
from ..jobs.arguments import describe, pack
from ..jobs.backend import JobBackend
from ..jobs.maintenance import Maintenance
from ..jobs.store import ERROR, QUEUED, STATUSES, Job, QueueFull
from ..record import ModelRecord
from .deepaas import deepaas_job_schema, is_deepaas, training_job
from .docs import LINK, copy_parameters, error_model
from .parsing import parse_arguments
from .versions import link

log = logging.getLogger("deepserve")

#: Seconds a client is told to wait (``Retry-After``) when the job queue is full.
QUEUE_FULL_RETRY = 10
#: The largest integer SQL databases store (a larger offset would overflow the job store's query).
INT64_MAX = 2**63 - 1

NULLABLE_TIME = {"type": "string", "format": "date-time", "x-nullable": True}

JOB = {
    "type": "object",
    "required": ["id", "model", "status", "args", "created", "links"],
    "properties": {
        "id": {"type": "string", "description": "the job id (32 hexadecimal digits)"},
        "model": {"type": "string"},
        "status": {"type": "string", "enum": list(STATUSES)},
        "args": {
            "type": "object",
            "description": "the train arguments; uploaded files by their original name",
        },
        "created": {"type": "string", "format": "date-time"},
        "started": NULLABLE_TIME,
        "finished": NULLABLE_TIME,
        "duration": {
            "type": "number",
            "x-nullable": True,
            "description": "seconds from start to end (so far, while running)",
        },
        "result": {"description": "what train returned (done jobs)"},
        "error": {"type": "string", "x-nullable": True, "description": "why the job failed"},
        "progress": {
            "type": "number",
            "x-nullable": True,
            "minimum": 0,
            "maximum": 1,
            "description": "the fraction done, as last reported by the model",
        },
        "metrics": {"type": "object", "x-nullable": True, "description": "reported metrics"},
        "message": {
            "type": "string",
            "x-nullable": True,
            "description": "the error of a failed job (DEEPaaS); for a queued job, why it does "
            "not start if the server knows a reason; else the message last reported",
        },
        "links": {"type": "array", "items": LINK},
        "uuid": {"type": "string", "description": "the job id (DEEPaaS name of `id`)"},
        "date": {
            "type": "string",
            "description": "creation time, server-local `YYYY-MM-DD HH:MM:SS.ffffff` (DEEPaaS)",
        },
    },
}

LIST_ARGS = ArgumentSpec(
    {
        "status": fields.List(
            fields.Str(validate=validate.OneOf(STATUSES)),
            load_default=list,
            metadata={"description": "only jobs with this status (repeatable)"},
        ),
        "limit": fields.Int(
            load_default=100,
            validate=validate.Range(1, 1000),
            metadata={"description": "at most this many jobs"},
        ),
        "offset": fields.Int(
            load_default=0,
            validate=validate.Range(0, INT64_MAX),
            metadata={"description": "skip this many jobs (newest first)"},
        ),
    },
    label="train job list",
)

LOG_ARGS = ArgumentSpec(
    {
        "tail": fields.Int(
            load_default=None,
            validate=validate.Range(0, INT64_MAX),
            metadata={"description": "only the last TAIL lines"},
        )
    },
    label="train job log",
)


def add_train_routes(api: Api, ns: Namespace, record: ModelRecord, backend: JobBackend) -> None:
    """Add the training routes of ``record`` to its namespace ``ns``; jobs run on ``backend``."""
    error = error_model(api)
    spec = record.train_args
    store = backend.store
    jobs = TrainingJobs(record, backend)
    if jobs.deepaas:
        deepaas_job = deepaas_job_schema(JOB)
        job_model = api.schema_model("DeepaasTrainingJob", deepaas_job)
        job_list = api.schema_model(
            "DeepaasTrainingJobList", {"type": "array", "items": deepaas_job}
        )
    else:
        job_model = api.schema_model("TrainingJob", JOB)
        listing = {"type": "object", "properties": {"jobs": {"type": "array", "items": JOB}}}
        job_list = api.schema_model("TrainingJobList", listing)
    submitted = 200 if jobs.deepaas else 202  # DEEPaaS answers 200
    documented = None if spec is not None else False  # routed (501) but not documented

    @ns.route("/train/", doc=documented)
    class Jobs(Resource):
        method_decorators = [_records_reachable]

        @ns.doc(id=f"list_{record.name}_train_jobs", params=_query(LIST_ARGS))
        @ns.response(200, "The model's training jobs, newest first", job_list)
        @ns.response(422, "Invalid query", error)
        @ns.response(501, "The model does not implement train", error)
        def get(self):
            """List the model's training jobs, newest first."""
            jobs.check()
            query = _load_query(LIST_ARGS)
            found = jobs.list(query["status"], query["limit"], query["offset"])
            documents = jobs.documents(found)
            return documents if jobs.deepaas else {"jobs": documents}

        @ns.doc(id=f"train_{record.name}", params=copy_parameters(spec.parameters if spec else {}))
        @ns.response(submitted, "The job, queued", job_model)
        @ns.response(422, "Invalid arguments: no job is created", error)
        @ns.response(429, "Too many jobs are queued (--max-queued-jobs); see Retry-After", error)
        @ns.response(
            503,
            "The job cannot be queued now (the job supervisor is down, the broker or records "
            "are unreachable)",
            error,
        )
        @ns.response(501, "The model does not implement train", error)
        def post(self):
            """Start a training job; arguments come from the query string, a form or JSON."""
            jobs.check()
            job = jobs.submit(parse_arguments(spec))
            location = {"Location": jobs.url(job)}
            return jobs.document(job), submitted, location

    @ns.route("/train/<string:job_id>", doc=documented)
    @ns.param("job_id", "the job id")
    class TrainingJob(Resource):
        method_decorators = [_records_reachable]

        @ns.doc(id=f"get_{record.name}_train_job")
        @ns.response(200, "The job", job_model)
        @ns.response(404, "No such job", error)
        @ns.response(501, "The model does not implement train", error)
        def get(self, job_id: str):
            """A training job: status, progress, result or error."""
            return jobs.document(jobs.find(job_id))

        @ns.doc(id=f"delete_{record.name}_train_job")
        @ns.response(200, "The job: cancelled if it was active, else as it was", job_model)
        @ns.response(404, "No such job", error)
        @ns.response(501, "The model does not implement train", error)
        def delete(self, job_id: str):
            """Cancel a queued or running job; remove a finished job's record and log."""
            job = jobs.find(job_id)
            if job.active:
                backend.cancel(job_id)  # its process is stopped
                return jobs.document(jobs.find(job_id))
            store.delete(job_id)
            return jobs.document(job)

    @ns.route("/train/<string:job_id>/log", doc=documented)
    @ns.param("job_id", "the job id")
    class TrainingLog(Resource):
        method_decorators = [_records_reachable]

        @ns.doc(id=f"get_{record.name}_train_log", params=_query(LOG_ARGS))
        @ns.produces(["text/plain", "application/json"])  # JSON: the errors
        @ns.response(200, "What the job wrote to stdout and stderr")
        @ns.response(404, "No such job", error)
        @ns.response(422, "Invalid query", error)
        @ns.response(501, "The model does not implement train", error)
        def get(self, job_id: str):
            """The job's output (stdout and stderr), whole or its last lines."""
            jobs.find(job_id)
            lines = _load_query(LOG_ARGS)["tail"]
            path = store.log_path(job_id)
            if lines is None and path.is_file():
                return flask.send_file(path, mimetype="text/plain", conditional=False, etag=False)
            text = logs.tail(path, lines) if lines is not None else b""
            return flask.Response(text, mimetype="text/plain")


class TrainingJobs:
    """The job operations of one model, as the routes need them. Reading a running job whose
    runner stopped sending heartbeats marks it interrupted (so does every reader, not only
    the supervisor or the maintenance helper, which may be down too)."""

    def __init__(self, record: ModelRecord, backend: JobBackend) -> None:
        self.record = record
        self.backend = backend
        self.store = backend.store
        self.deepaas = is_deepaas(record)  # answered in DEEPaaS's shapes
        self.maintenance = Maintenance(
            self.store, heartbeat_timeout=backend.heartbeat_timeout, retention_days=0
        )

    def check(self) -> None:
        """Raise the 501 when the model does not train."""
        if self.record.train_args is None:
            raise NotSupported(self.record.name, "train")

    def find(self, job_id: str) -> Job:
        """This model's job ``job_id``; 404 if there is none."""
        self.check()
        job = self.store.get(job_id)
        if job is not None and self.maintenance.is_stale(job):
            self.maintenance.interrupt_stale()
            job = self.store.get(job_id)
        if job is None or job.model != self.record.name:
            raise APIError(404, f"No training job '{job_id}' for model '{self.record.name}'.")
        return job

    def list(self, statuses: list[str], limit: int, offset: int) -> list[Job]:
        """The model's jobs, newest first (as :meth:`JobStore.list`)."""
        found = self.store.list(self.record.name, statuses, limit, offset)
        if any(self.maintenance.is_stale(job) for job in found):
            self.maintenance.interrupt_stale()
            found = self.store.list(self.record.name, statuses, limit, offset)
        return found

    def submit(self, args: dict) -> Job:
        """Queue a job with validated ``args``; its uploaded files move into the job. 503
        while the server's job helper is down, 429 while the queue is full."""
        outage = self.backend.outage()
        if outage is not None:
            message = f"Training jobs cannot be queued now: {outage.reason}; try again later."
            raise TryLater(503, message, outage.retry_after)
        job_id = uuid.uuid4().hex
        try:
            stored = pack(self.record.train_args, args, self.store.files_dir(job_id))
            job = self.store.create(job_id, self.record.name, stored, self.backend.max_queued_jobs)
        except QueueFull as error:
            self.store.remove_dir(job_id)
            message = (
                f"{error.limit} training jobs are queued already, the most this server "
                "accepts; try again later."
            )
            raise TryLater(429, message, QUEUE_FULL_RETRY) from error
        except (TypeError, ValueError) as error:
            self.store.remove_dir(job_id)
            raise ModelError(
                f"Model '{self.record.name}': train arguments cannot be stored as JSON: {error}"
            ) from error
        except BaseException:
            self.store.remove_dir(job_id)
            raise
        try:
            self.backend.submit(job)
        except Exception as error:  # e.g. the broker is unreachable: no job is left behind
            log.exception("job %s cannot be queued", job_id)
            self.store.finish(job_id, ERROR, error="not queued", only_from=(QUEUED,))
            self.store.delete(job_id)
            raise APIError(
                503, "The training job cannot be queued now; try again later."
            ) from error
        return job

    @staticmethod
    def url(job: Job) -> str:
        """The job's URL."""
        return link("self", f"/v2/models/{job.model}/train/{job.id}")["href"]

    def document(self, job: Job) -> dict:
        """The job as the API shows it (as DEEPaaS does, for DEEPaaS models)."""
        return self.documents([job])[0]

    def documents(self, found: list[Job]) -> list[dict]:
        """The jobs as the API shows them."""
        queued = any(job.status == QUEUED for job in found)
        waiting = self.backend.waiting_reason(self.record.name) if queued else None
        return [self._document(job, waiting) for job in found]

    def _document(self, job: Job, waiting: str | None) -> dict:
        if job.status == ERROR:
            message = job.error
        elif job.status == QUEUED:
            message = waiting or job.message
        else:
            message = job.message
        path = f"/v2/models/{job.model}/train/{job.id}"
        end = job.finished if job.finished is not None else time.time()
        document = {
            "id": job.id,
            "model": job.model,
            "status": job.status,
            "args": describe(self.record.train_args, job.args),
            "created": _time(job.created),
            "started": _time(job.started),
            "finished": _time(job.finished),
            "duration": round(end - job.started, 3) if job.started is not None else None,
            "result": job.result,
            "error": job.error,
            "progress": job.progress,
            "metrics": job.metrics,
            "message": message,
            "links": [link("self", path), link("log", path + "/log")],
            "uuid": job.id,
            "date": str(datetime.datetime.fromtimestamp(job.created)),
        }
        return training_job(job, document) if self.deepaas else document


def _records_reachable(view):
    """Answer 503 (not 500) while the job database cannot be reached."""

    @functools.wraps(view)
    def answer(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except sa.exc.OperationalError as error:
            log.error("the job records cannot be reached: %s", error.orig or error)
            raise APIError(
                503, "The training job records cannot be reached now; try again later."
            ) from error

    return answer


def _time(timestamp: float | None) -> str | None:
    """ISO 8601, UTC."""
    if timestamp is None:
        return None
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _load_query(spec: ArgumentSpec) -> dict:
    return spec.load(MultiDictProxy(flask.request.args, spec.schema))


def _query(spec: ArgumentSpec) -> dict:
    """Swagger parameters of query-string arguments."""
    return {name: {**param, "in": "query"} for name, param in spec.parameters.items()}
