"""Asynchronous predictions: ``Prefer: respond-async`` on a predict, and
``/v2/models/<name>/predictions/``.

A predict whose request carries the ``respond-async`` preference (RFC 7240) is validated and
negotiated as a synchronous one (422 and 406 come at once), then queued as a job of kind
``predict`` and answered ``202`` with the job and its ``Location``. The job runs like a
training job (same store, supervisor or Celery workers); the shared job routes (:mod:`.jobs`)
list, get and cancel it, and ``.../predictions/<id>/output`` answers its output: the JSON
document a synchronous predict would have answered, or the binary body with its media type.
"""

from __future__ import annotations

import flask
from flask_restx import Api, Namespace, Resource

from ..errors import APIError
from ..jobs.backend import JobBackend
from ..jobs.store import DONE, PREDICT
from ..outputs import dumps, is_json
from ..record import ModelRecord
from .jobs import JobRoutes, ModelJobs, records_reachable
from .responses import json_response

#: The preference asking for a 202 and a job instead of waiting for the answer.
RESPOND_ASYNC = "respond-async"

#: The ``Prefer`` header parameter of every predict operation.
PREFER_PARAMETER = {
    "in": "header",
    "type": "string",
    "enum": [RESPOND_ASYNC],
    "required": False,
    "description": "respond-async: answer 202 at once with a prediction job to poll at its "
    "Location, instead of waiting for the prediction (RFC 7240)",
}


def prefers_async(request: flask.Request) -> bool:
    """Whether ``request`` carries the ``respond-async`` preference (in any ``Prefer`` header,
    among other preferences, with or without parameters)."""
    for header in request.headers.getlist("Prefer"):
        for preference in header.split(","):
            token = preference.split(";", 1)[0].split("=", 1)[0]
            if token.strip().lower() == RESPOND_ASYNC:
                return True
    return False


def add_prediction_routes(
    api: Api, ns: Namespace, record: ModelRecord, backend: JobBackend
) -> JobRoutes:
    """Add the prediction job routes of ``record`` to its namespace ``ns``; return them (the
    predict route submits through their jobs and documents its 202 with their model)."""
    routes = JobRoutes(api, ns, ModelJobs(record, backend, PREDICT))
    routes.add()
    jobs, store, error = routes.jobs, backend.store, routes.error

    class Output(Resource):
        method_decorators = [records_reachable]

        @ns.doc(id=f"get_{record.name}_prediction_output")
        @ns.produces(list(dict.fromkeys([*record.media_types, "application/json"])))
        @ns.response(200, "The prediction, as the synchronous predict would have answered it")
        @ns.response(404, "No such prediction", error)
        @ns.response(409, "The prediction is not done", error)
        def get(self, job_id: str):
            """The output of a done prediction, in the media type negotiated at submission."""
            job = jobs.find(job_id)
            if job.status != DONE:
                message = f"Prediction '{job_id}' is {job.status}: it has an output once done."
                raise APIError(409, message)
            if is_json(job.media_type):
                return json_response(dumps(job.result), mimetype=job.media_type)
            return flask.send_file(
                store.output_path(job_id), mimetype=job.media_type, conditional=False, etag=False
            )

    routes.route(Output, "/<string:job_id>/output")
    return routes


@records_reachable
def accepted(routes: JobRoutes, args: dict, media_type: str) -> flask.Response:
    """Queue a prediction of validated ``args`` answering in ``media_type``: the 202."""
    document, status, headers = routes.jobs.accepted(routes.jobs.submit(args, media_type))
    response = json_response(dumps(document), status)
    response.headers.update({**headers, "Preference-Applied": RESPOND_ASYNC})
    return response
