"""``/v2/models/<name>/train/``: training jobs — start them here; list, get, cancel or remove,
and read their logs through the routes all jobs share (:mod:`.jobs`). Models without ``train``
answer 501 on every route."""

from __future__ import annotations

from flask_restx import Api, Namespace

from ..jobs.backend import JobBackend
from ..jobs.store import TRAIN
from ..record import ModelRecord
from .docs import MALFORMED_BODY, copy_parameters
from .jobs import JobRoutes, ModelJobs
from .parsing import parse_arguments


def add_train_routes(api: Api, ns: Namespace, record: ModelRecord, backend: JobBackend) -> None:
    """Add the training routes of ``record`` to its namespace ``ns``; jobs run on ``backend``."""
    spec = record.train_args
    jobs = ModelJobs(record, backend, TRAIN)
    routes = JobRoutes(api, ns, jobs, documented=spec is not None)  # else routed, 501 only
    error = routes.error

    @ns.doc(id=f"train_{record.name}", params=copy_parameters(spec.parameters if spec else {}))
    @ns.response(jobs.submitted, "The job, queued", routes.job_model)  # DEEPaaS answers 200
    @ns.response(400, MALFORMED_BODY, error)
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
        return jobs.accepted(jobs.submit(parse_arguments(spec)))

    routes.add(post=post)
