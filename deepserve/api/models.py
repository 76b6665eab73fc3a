"""``/v2/models/``: the model list, and one namespace per served model."""

from __future__ import annotations

import functools
import logging
import re

import flask
from flask_restx import Api, Namespace, Resource
from werkzeug.routing import BaseConverter

from ..arguments import json_schema
from ..errors import APIError, ModelError
from ..jobs.backend import JobBackend
from ..logs import BATCH_SIZE_KEY
from ..record import STREAM_TYPES, ModelRecord
from ..suggestions import unknown_name_hint
from .deepaas import PREDICTION_DEFINITION, Predictor, is_deepaas
from .docs import MALFORMED_BODY, copy_parameters, error_model, metadata_model
from .parsing import parse_arguments
from .predictions import PREFER_PARAMETER, accepted, add_prediction_routes, prefers_async
from .responses import answer_type, prediction_response, result_response, stream_response
from .train import add_train_routes
from .versions import link

log = logging.getLogger("deepserve")

# The start of a raw HTTP request for a prediction (one empty line may precede it).
_PREDICT_REQUEST = re.compile(rb"(?:\r\n)?POST /v2/models/([\w.-]+)/predict/[?\s]")

ENVELOPE = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "example": "OK"},
        "predictions": {"description": "whatever the model's predict returned"},
    },
}


ANSWERED = "The prediction (JSON, or a body of the negotiated media type)"
STREAMED = (
    "The items the model generated: with Accept text/event-stream one Server-Sent Event per "
    "item as it comes (then a 'done' event, or an 'error' event if the model fails midway), with "
    "application/x-ndjson one JSON line per item, otherwise all of them collected in "
    "'predictions' (this schema)"
)


def prediction_schema(record: ModelRecord) -> dict:
    """The JSON schema of a predict answer; a streaming model's ``schema`` describes one item."""
    if record.streams:
        item = json_schema(record.schema) if record.schema is not None else {}
        predictions = {"type": "array", "items": item, "description": "the items, in order"}
        return {**ENVELOPE, "properties": {**ENVELOPE["properties"], "predictions": predictions}}
    return json_schema(record.schema) if record.schema is not None else ENVELOPE


def describe(record: ModelRecord) -> dict:
    """A model's metadata with its id and links, as served by the API."""
    try:
        metadata = record.metadata()
    except Exception as error:
        log.exception("model %r failed in get_metadata", record.name)
        raise ModelError(f"Model '{record.name}' failed in get_metadata: {error}") from error
    base = f"/v2/models/{record.name}/"
    links = [link("self", base), link("predict", base + "predict/")]
    if not is_deepaas(record):  # DEEPaaS has no asynchronous predictions
        links.append(link("predictions", base + "predictions/"))
    if record.validate_args is not None:
        links.append(link("validate", base + "validate/"))
    if record.train_args is not None:
        links.append(link("train", base + "train/"))
    return {
        **metadata,
        "id": record.name,
        "name": metadata.get("name", record.name),
        "links": links,
    }


def models_namespace(api: Api, records: list[ModelRecord], failed: dict[str, str]) -> Namespace:
    """``GET /v2/models/``, and for names that are not served JSON 503s (the models that
    ``failed`` to load: name -> reason) or 404s."""
    ns = Namespace("models", path="/v2/models", description="The served models")
    listing = api.schema_model(
        "ModelList",
        {
            "type": "object",
            "properties": {"models": {"type": "array", "items": {"type": "object"}}},
        },
    )
    names = sorted(record.name for record in records)

    @ns.route("/")
    class ModelList(Resource):
        @ns.response(200, "Every served model with its metadata and links", listing)
        def get(self):
            """List the served models."""
            return {"models": [describe(record) for record in records]}

    @ns.route("/<unserved:name>/", "/<unserved:name>/<path:rest>", doc=False)
    class UnknownModel(Resource):
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

        def dispatch_request(self, name: str, rest: str = ""):
            raise not_served(name, names, failed)

    return ns


def not_served(name: str, names: list[str], failed: dict[str, str]) -> APIError:
    """The error for a ``name`` that is not among the served ``names``: 503 with the reason if
    it ``failed`` to load (name -> reason), else 404 with the close names."""
    if name in failed:
        message = f"Model '{name}' is not served: it failed to load: {failed[name]}"
        return APIError(503, message, reason=failed[name], available=names)
    hint = unknown_name_hint(name, names, "served models")
    return APIError(404, f"No model named '{name}' is served; {hint}", available=names)


class UnservedConverter(BaseConverter):
    """Matches a URL segment that is not a served model's name (so served ones keep their 405s).

    The served names are excluded by the regex itself, not by ``to_python``: werkzeug gathers
    the methods of every rule whose pattern matches a path before converting, so a pattern that
    matched served names would add this route's methods to their 405 ``Allow`` lists.
    """

    regex = "[^/]+"


def unserved_converter(records: list[ModelRecord]) -> type[BaseConverter]:
    """The converter class for ``records``' names."""
    served = "|".join(re.escape(record.name) for record in records)
    regex = f"(?!(?:{served})$)[^/]+" if records else UnservedConverter.regex
    return type("Unserved", (UnservedConverter,), {"regex": regex, "part_isolating": True})


def model_namespace(api: Api, record: ModelRecord, jobs: JobBackend) -> Namespace:
    """The routes of one model: metadata, predict (asynchronous ones are jobs in ``jobs``),
    validate, train (jobs in ``jobs``)."""
    ns = Namespace(
        record.name,
        path=f"/v2/models/{record.name}",
        description=record.metadata().get("description", f"Model {record.name}"),
    )
    error = error_model(api)
    metadata = metadata_model(api)
    prediction = api.schema_model(prediction_definition(api, record), prediction_schema(record))
    answer = Predictor(record) if is_deepaas(record) else functools.partial(predict, record)

    @ns.route("/")
    class Metadata(Resource):
        @ns.doc(id=f"get_{record.name}_metadata")
        @ns.response(200, "The model's metadata", metadata)
        def get(self):
            """The model's metadata and links."""
            return describe(record)

    # DEEPaaS has no asynchronous predictions: its models' answers keep DEEPaaS's shapes.
    predictions = None if is_deepaas(record) else add_prediction_routes(api, ns, record, jobs)
    predict_params = copy_parameters(record.predict_args.parameters)
    asynchronous = {}
    if predictions is not None:
        predict_params["Prefer"] = dict(PREFER_PARAMETER)
        queued = "Prefer: respond-async: the prediction job, queued (its output comes in the "
        queued += "media type negotiated now)"
        asynchronous = {
            202: (queued, predictions.job_model),
            429: ("Prefer: respond-async: too many jobs are queued; see Retry-After", error),
            503: ("Prefer: respond-async: the job cannot be queued now", error),
        }

    @ns.route("/predict/")
    class Predict(Resource):
        @ns.doc(id=f"predict_{record.name}", params=predict_params, responses=asynchronous)
        @ns.produces(list(record.answer_types))
        @ns.vendor({"x-deepserve-stream": True} if record.streams else {})
        @ns.response(200, STREAMED if record.streams else ANSWERED, prediction)
        @ns.response(406, "No acceptable media type", error)
        @ns.response(400, MALFORMED_BODY, error)
        @ns.response(422, "Invalid arguments", error)
        @ns.response(500, "The model failed or broke its response schema", error)
        def post(self):
            """Run a prediction. Arguments come from the query string, a form or a JSON body;
            with ``Prefer: respond-async`` (not for DEEPaaS models), as a job answered 202 at
            once."""
            if predictions is not None and prefers_async(flask.request):
                media_type = answer_type(record, flask.request)
                if media_type not in STREAM_TYPES:  # a stream asked for is answered as one
                    return accepted(predictions, parse_arguments(record.predict_args), media_type)
            return answer()

    validate_params = record.validate_args.parameters if record.validate_args else {}

    # Routed (501) but not documented when the model has no validate.
    @ns.route("/validate/", doc=None if record.validate_args else False)
    class Validate(Resource):
        @ns.doc(id=f"validate_{record.name}", params=copy_parameters(validate_params))
        @ns.response(200, "The validation result", api.schema_model("ValidationResult", RESULT))
        @ns.response(400, MALFORMED_BODY, error)
        @ns.response(422, "Invalid arguments", error)
        @ns.response(500, "The model failed", error)
        @ns.response(501, "The model does not implement validate", error)
        def post(self):
            """Evaluate the model on the data given."""
            if record.validate_args is None:
                record.validate({})  # raises the 501
            args = parse_arguments(record.validate_args)
            return result_response(record, record.validate(args))

    add_train_routes(api, ns, record, jobs)
    return ns


def predict(record: ModelRecord) -> flask.Response:
    """Answer a prediction request: negotiate the media type, parse, call, render (a batch
    forming meanwhile waits for this request, from its start)."""
    with record.arriving():
        media_type = answer_type(record, flask.request)
        args = parse_arguments(record.predict_args)
        if record.streams:
            return stream_response(record, record.stream(args), media_type)
        output = record.predict(args, media_type, on_batch=note_batch_size)
    return prediction_response(record, output, media_type)


def predicted_model(request: bytes | bytearray) -> str | None:
    """The model whose predict route a raw HTTP request (its first bytes) asks for, or None."""
    match = _PREDICT_REQUEST.match(request)
    return match[1].decode() if match else None


def prediction_definition(api: Api, record: ModelRecord) -> str:
    """The spec's name for a model's prediction: DEEPaaS's for the first DEEPaaS model with a
    response schema (the DEEPaaS UI looks it up), else one per model."""
    if is_deepaas(record) and record.schema is not None and PREDICTION_DEFINITION not in api.models:
        return PREDICTION_DEFINITION
    return f"{record.name}.prediction"


def note_batch_size(size: int) -> None:
    """Keep the size of the batch that answered this request, for the access log line."""
    flask.request.environ[BATCH_SIZE_KEY] = size


RESULT = {
    "type": "object",
    "properties": {"status": {"type": "string", "example": "OK"}, "result": {}},
}
