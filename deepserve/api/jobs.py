"""The routes every kind of job shares: list, get, cancel or remove, read the log.

A model's jobs of one kind live under one collection: ``/v2/models/<name>/train/`` for
training jobs, ``/v2/models/<name>/predictions/`` for asynchronous predictions. The routes
read and write the job records (:mod:`deepserve.jobs.store`) and tell the job backend
(:mod:`deepserve.jobs.backend`) when a job is queued or cancelled; the backend's supervisor or
workers run the jobs. :mod:`.train` and :mod:`.predictions` add what differs: how a job starts,
and a prediction's output.
"""

from __future__ import annotations

import datetime
import functools
import logging
import time
import uuid
from collections.abc import Callable

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
from ..jobs.store import ERROR, PREDICT, QUEUED, STATUSES, TRAIN, Job, QueueFull
from ..record import ModelRecord
from .deepaas import deepaas_job_schema, is_deepaas, training_job
from .docs import LINK, error_model
from .versions import link

log = logging.getLogger("deepserve")

#: Seconds a client is told to wait (``Retry-After``) when the job queue is full.
QUEUE_FULL_RETRY = 10
#: The largest integer SQL databases store (a larger offset would overflow the job store's query).
INT64_MAX = 2**63 - 1

NULLABLE_TIME = {"type": "string", "format": "date-time", "x-nullable": True}

#: Per kind: the collection's path segment, what one job is called (in messages and in
#: operation ids), its Swagger model name.
SEGMENTS = {TRAIN: "train", PREDICT: "predictions"}
LABELS = {TRAIN: "training job", PREDICT: "prediction"}
NOUNS = {TRAIN: "train_job", PREDICT: "prediction"}
MODEL_NAMES = {TRAIN: "TrainingJob", PREDICT: "Prediction"}


def job_schema(kind: str) -> dict:
    """The JSON schema of a job document of ``kind``."""
    method = "predict" if kind == PREDICT else "train"
    properties = {
        "id": {"type": "string", "description": "the job id (32 hexadecimal digits)"},
        "model": {"type": "string"},
        "status": {"type": "string", "enum": list(STATUSES)},
        "args": {
            "type": "object",
            "description": f"the {method} arguments; uploaded files by their original name",
        },
        "created": {"type": "string", "format": "date-time"},
        "started": NULLABLE_TIME,
        "finished": NULLABLE_TIME,
        "duration": {
            "type": "number",
            "x-nullable": True,
            "description": "seconds from start to end (so far, while running)",
        },
        "result": {"description": f"what {method} returned (done jobs)"},
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
    }
    if kind == PREDICT:
        properties["result"] = {
            "description": "the prediction document, when done and answered in JSON; a "
            "binary answer is at the `output` link"
        }
        properties["media_type"] = {
            "type": "string",
            "description": "the media type of the output, negotiated when it was submitted",
        }
    required = ["id", "model", "status", "args", "created", "links"]
    return {"type": "object", "required": required, "properties": properties}


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
    label="job list",
)

LOG_ARGS = ArgumentSpec(
    {
        "tail": fields.Int(
            load_default=None,
            validate=validate.Range(0, INT64_MAX),
            metadata={"description": "only the last TAIL lines"},
        )
    },
    label="job log",
)


class ModelJobs:
    """The jobs of one ``kind`` of one model, as the routes need them. Reading a running job
    whose runner stopped sending heartbeats marks it interrupted (so does every reader, not
    only the supervisor or the maintenance helper, which may be down too)."""

    def __init__(self, record: ModelRecord, backend: JobBackend, kind: str) -> None:
        self.record = record
        self.backend = backend
        self.store = backend.store
        self.kind = kind
        self.label = LABELS[kind]
        self.spec = record.predict_args if kind == PREDICT else record.train_args
        self.collection = f"/v2/models/{record.name}/{SEGMENTS[kind]}/"
        #: A DEEPaaS model's training jobs are answered in DEEPaaS's shapes.
        self.deepaas = kind == TRAIN and is_deepaas(record)
        self.submitted = 200 if self.deepaas else 202  # the status of a new job's answer
        self.maintenance = Maintenance(
            self.store, heartbeat_timeout=backend.heartbeat_timeout, retention_days=0
        )

    def check(self) -> None:
        """Raise the 501 when the model does not train (training jobs only)."""
        if self.spec is None:
            raise NotSupported(self.record.name, "train")

    def find(self, job_id: str) -> Job:
        """This model's job ``job_id`` of this kind; 404 if there is none."""
        self.check()
        job = self.store.get(job_id)
        if job is not None and self.maintenance.is_stale(job):
            self.maintenance.interrupt_stale()
            job = self.store.get(job_id)
        if job is None or job.model != self.record.name or job.kind != self.kind:
            raise APIError(404, f"No {self.label} '{job_id}' for model '{self.record.name}'.")
        return job

    def list(self, query: dict) -> list[Job]:
        """This model's jobs of this kind selected by a :data:`LIST_ARGS` query."""
        self.check()
        selected = (self.record.name, query["status"], query["limit"], query["offset"])
        found = self.store.list(*selected, kind=self.kind)
        if any(self.maintenance.is_stale(job) for job in found):
            self.maintenance.interrupt_stale()
            found = self.store.list(*selected, kind=self.kind)
        return found

    def submit(self, args: dict, media_type: str | None = None) -> Job:
        """Queue a job with validated ``args``; its uploaded files move into the job. 503
        while the server's job helper is down, 429 while the queue is full."""
        outage = self.backend.outage()
        if outage is not None:
            message = f"{self.label.capitalize()}s cannot be queued now: {outage.reason}; "
            raise TryLater(503, message + "try again later.", outage.retry_after)
        job_id = uuid.uuid4().hex
        try:
            stored = pack(self.spec, args, self.store.files_dir(job_id))
            job = self.store.create(
                job_id,
                self.record.name,
                stored,
                self.backend.max_queued_jobs,
                kind=self.kind,
                media_type=media_type,
            )
        except QueueFull as error:
            self.store.remove_dir(job_id)
            message = f"{error.limit} jobs are queued already, the most this server accepts; "
            raise TryLater(429, message + "try again later.", QUEUE_FULL_RETRY) from error
        except (TypeError, ValueError) as error:
            self.store.remove_dir(job_id)
            raise ModelError(
                f"Model '{self.record.name}': {self.kind} arguments cannot be stored as JSON: "
                f"{error}"
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
                503, f"The {self.label} cannot be queued now; try again later."
            ) from error
        return job

    def links(self, job: Job) -> list[dict]:
        """The job's links: itself first, its log, a prediction's output."""
        path = self.collection + job.id
        links = [link("self", path), link("log", path + "/log")]
        if self.kind == PREDICT:
            links.append(link("output", path + "/output"))
        return links

    def url(self, job: Job) -> str:
        """The job's URL."""
        return self.links(job)[0]["href"]

    def document(self, job: Job) -> dict:
        """The job as the API shows it (as DEEPaaS does, for DEEPaaS models' trainings)."""
        return self.documents([job])[0]

    def documents(self, found: list[Job]) -> list[dict]:
        """The jobs as the API shows them."""
        queued = any(job.status == QUEUED for job in found)
        waiting = self.backend.waiting_reason(self.record.name, self.kind) if queued else None
        return [self._document(job, waiting) for job in found]

    def _document(self, job: Job, waiting: str | None) -> dict:
        if job.status == ERROR:
            message = job.error
        elif job.status == QUEUED:
            message = waiting or job.message
        else:
            message = job.message
        end = job.finished if job.finished is not None else time.time()
        document = {
            "id": job.id,
            "model": job.model,
            "status": job.status,
            "args": describe(self.spec, job.args),
            "created": _time(job.created),
            "started": _time(job.started),
            "finished": _time(job.finished),
            "duration": round(end - job.started, 3) if job.started is not None else None,
            "result": job.result,
            "error": job.error,
            "progress": job.progress,
            "metrics": job.metrics,
            "message": message,
            "links": self.links(job),
            "uuid": job.id,
            "date": str(datetime.datetime.fromtimestamp(job.created)),
        }
        if self.kind == PREDICT:
            document["media_type"] = job.media_type
        return training_job(job, document) if self.deepaas else document

    def accepted(self, job: Job) -> tuple[dict, int, dict]:
        """The answer for a newly queued job (202, 200 for DEEPaaS), with its ``Location``."""
        return self.document(job), self.submitted, {"Location": self.url(job)}


class JobRoutes:
    """Adds the shared routes of ``jobs`` to the model's namespace ``ns``; ``documented``
    False keeps them out of the spec (a model without ``train``: they answer 501)."""

    def __init__(self, api: Api, ns: Namespace, jobs: ModelJobs, documented: bool = True) -> None:
        self.ns = ns
        self.jobs = jobs
        self.doc = None if documented else False
        self.error = error_model(api)
        schema = job_schema(jobs.kind)
        name = MODEL_NAMES[jobs.kind]
        if jobs.deepaas:  # DEEPaaS lists its jobs as a bare array
            schema, name = deepaas_job_schema(schema), f"Deepaas{name}"
            listing = {"type": "array", "items": schema}
        else:
            listing = {"type": "object", "properties": {"jobs": {"type": "array", "items": schema}}}
        self.job_model = api.schema_model(name, schema)
        self.list_model = api.schema_model(f"{name}List", listing)

    def add(self, post: Callable | None = None) -> None:
        """Add the routes; ``post``, if given, is the collection's POST (starting a job)."""
        self._collection(post)
        self._member()
        self._log()

    def _collection(self, post: Callable | None) -> None:
        ns, jobs, error = self.ns, self.jobs, self.error
        name, label = jobs.record.name, jobs.label

        @ns.doc(id=f"list_{name}_{NOUNS[jobs.kind]}s", params=_query(LIST_ARGS))
        @ns.response(200, f"The model's {label}s, newest first", self.list_model)
        @ns.response(422, "Invalid query", error)
        @ns.response(501, "The model does not implement train", error)
        def get(self):
            """List the model's jobs (of this kind), newest first."""
            documents = jobs.documents(jobs.list(_load_query(LIST_ARGS)))
            return documents if jobs.deepaas else {"jobs": documents}

        members = {"method_decorators": [records_reachable], "get": get}
        if post is not None:
            members["post"] = post
        self.route(type("Collection", (Resource,), members), "/", member=False)

    def _member(self) -> None:
        ns, jobs, error, store = self.ns, self.jobs, self.error, self.jobs.store
        label = jobs.label
        operation = f"{jobs.record.name}_{NOUNS[jobs.kind]}"

        class Member(Resource):
            method_decorators = [records_reachable]

            @ns.doc(id=f"get_{operation}")
            @ns.response(200, f"The {label}", self.job_model)
            @ns.response(404, f"No such {label}", error)
            @ns.response(501, "The model does not implement train", error)
            def get(self, job_id: str):
                """A job: status, progress, result or error."""
                return jobs.document(jobs.find(job_id))

            @ns.doc(id=f"delete_{operation}")
            @ns.response(
                200, f"The {label}: cancelled if it was active, else as it was", self.job_model
            )
            @ns.response(404, f"No such {label}", error)
            @ns.response(501, "The model does not implement train", error)
            def delete(self, job_id: str):
                """Cancel a queued or running job; remove a finished job's record and files."""
                job = jobs.find(job_id)
                if job.active:
                    jobs.backend.cancel(job_id)  # its process is stopped
                    return jobs.document(jobs.find(job_id))
                store.delete(job_id)
                return jobs.document(job)

        self.route(Member, "/<string:job_id>")

    def _log(self) -> None:
        ns, jobs, error, store = self.ns, self.jobs, self.error, self.jobs.store
        label = jobs.label

        class Log(Resource):
            method_decorators = [records_reachable]

            @ns.doc(id=f"get_{jobs.record.name}_{NOUNS[jobs.kind]}_log", params=_query(LOG_ARGS))
            @ns.produces(["text/plain", "application/json"])  # JSON: the errors
            @ns.response(200, "What the job wrote to stdout and stderr")
            @ns.response(404, f"No such {label}", error)
            @ns.response(422, "Invalid query", error)
            @ns.response(501, "The model does not implement train", error)
            def get(self, job_id: str):
                """The job's output (stdout and stderr), whole or its last lines."""
                jobs.find(job_id)
                lines = _load_query(LOG_ARGS)["tail"]
                path = store.log_path(job_id)
                if lines is None and path.is_file():
                    return flask.send_file(
                        path, mimetype="text/plain", conditional=False, etag=False
                    )
                text = logs.tail(path, lines) if lines is not None else b""
                return flask.Response(text, mimetype="text/plain")

        self.route(Log, "/<string:job_id>/log")

    def route(self, resource: type[Resource], path: str, *, member: bool = True) -> None:
        """Route ``resource`` at ``path`` below the collection. Its endpoint is named after
        the kind, so that the kinds' resources do not clash in the model's namespace; a
        ``member`` route documents its ``job_id``."""
        resource.__name__ = f"{MODEL_NAMES[self.jobs.kind]}{resource.__name__}"
        if member:
            self.ns.param("job_id", "the job id")(resource)
        self.ns.route(f"/{SEGMENTS[self.jobs.kind]}{path}", doc=self.doc)(resource)


def records_reachable(view):
    """Answer 503 (not 500) while the job database cannot be reached."""

    @functools.wraps(view)
    def answer(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except sa.exc.OperationalError as error:
            log.error("the job records cannot be reached: %s", error.orig or error)
            raise APIError(
                503, "The job records cannot be reached now; try again later."
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
