"""DEEPaaS 2.6's answer shapes, for the models of the ``deepaas.v2.model`` group only.

A DEEPaaS client (its Swagger page, the ``deepaas_ui`` Gradio UI, scripts) reads:

- predict: the model's output as it is (with a response schema: validated, not rewritten),
  else ``{"status": "OK", "predictions": ...}``; ``accept`` from the query or the form when the
  model's field does not say ``location: headers``; the response definition
  ``ModelPredictionResponse`` in the spec;
- training: a job with DEEPaaS's ``{"date", "args", "uuid", "status"}``, plus ``result``
  (``{"output", "finish_date", "duration"}``) or ``message`` (and deepserve's other fields);
  the list as a bare array; ``200`` to a ``POST``.

Everything else (routes, errors, the job machinery) is deepserve's.
"""

from __future__ import annotations

import copy
import datetime
import re
from typing import Any

import flask
from marshmallow import Schema, ValidationError, fields

from .. import deepaas
from ..jobs.store import INTERRUPTED, QUEUED, Job
from ..outputs import checked_json, schema_mismatch
from ..record import ModelRecord
from .parsing import parse_arguments
from .responses import answer_type, is_json, json_response, prediction_response

#: The name DEEPaaS gives a model's response schema in its spec (deepaas_ui looks it up).
PREDICTION_DEFINITION = "ModelPredictionResponse"

#: deepserve's job statuses DEEPaaS does not have, as DEEPaaS would report the job.
_STATUSES = {QUEUED: "running", INTERRUPTED: "error"}


def is_deepaas(record: ModelRecord) -> bool:
    """Whether ``record`` is a DEEPaaS model (answered in DEEPaaS's shapes)."""
    return record.group == deepaas.GROUP


class Predictor:
    """The predict route of one DEEPaaS model; its response validator is built once."""

    def __init__(self, record: ModelRecord) -> None:
        self.record = record
        self.model: deepaas.DeepaasModel = record.obj
        self.validator = marshmallow3_dates(record.schema) if record.schema else None

    def __call__(self) -> flask.Response:
        """Answer the current request."""
        args = parse_arguments(self.record.predict_args)
        if self.model.accept_is_field:
            media_type = args["accept"]  # a media type or */*, validated by the field
        else:
            media_type = answer_type(self.record, flask.request)
        output = self.record.predict(args, media_type)
        if media_type == "*/*" or is_json(media_type):
            return json_response(self.document(output))
        return prediction_response(self.record, output, media_type)

    def document(self, output: Any) -> str:
        """The JSON answer: the output itself once it passes the schema, else the envelope."""
        if self.validator is None:
            return checked_json(self.record, {"status": "OK", "predictions": output})
        try:
            self.validator.load(output)
        except ValidationError as error:
            raise schema_mismatch(self.record, error) from error
        return checked_json(self.record, output)


def training_job(job: Job, document: dict) -> dict:
    """A training job as DEEPaaS shows it, on top of deepserve's ``document`` of it (whose
    other fields, such as ``id``, ``links`` and ``progress``, deepserve's GUI and client read):
    DEEPaaS's statuses, ``result`` as ``{"output", "finish_date", "duration"}``, ``message``."""
    shown = {**document, "status": _STATUSES.get(job.status, job.status)}
    if shown["status"] == "error":
        shown["message"] = job.error or job.message or job.status
    if job.status == "done" and job.finished is not None:
        created = datetime.datetime.fromtimestamp(job.created)
        finished = datetime.datetime.fromtimestamp(job.finished)
        shown["result"] = {
            "output": job.result,
            "finish_date": str(finished),
            "duration": str(finished - created),
        }
    return shown


def deepaas_job_schema(job_schema: dict) -> dict:
    """The spec of :func:`training_job`'s answer, from that of deepserve's job."""
    text = {"type": "string"}
    properties = {
        **job_schema["properties"],
        "status": {**text, "enum": ["running", "done", "error", "cancelled"]},
        "message": {**text, "x-nullable": True, "description": "why the job failed"},
        "result": {
            "description": "for a done job",
            "x-nullable": True,
            "properties": {
                "output": {"description": "what train returned"},
                "finish_date": {**text, "description": "server-local time"},
                "duration": {**text, "description": "`H:MM:SS.ffffff` from creation to end"},
            },
        },
    }
    return {**job_schema, "properties": properties}


# -- marshmallow 3's date formats ------------------------------------------------------------

_ONE_DIGIT = re.compile(r"(?<![\d.])(\d)(?=[-:T .]|$)")


def _zero_padded(value: Any) -> Any:
    """``2019-01-1`` as ``2019-01-01``: marshmallow 3 read one-digit parts, 4 does not."""
    return _ONE_DIGIT.sub(r"0\1", value) if isinstance(value, str) else value


class _Marshmallow3Date(fields.Date):
    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(_zero_padded(value), attr, data, **kwargs)


class _Marshmallow3DateTime(fields.DateTime):
    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(_zero_padded(value), attr, data, **kwargs)


_MARSHMALLOW3 = {fields.Date: _Marshmallow3Date, fields.DateTime: _Marshmallow3DateTime}


def marshmallow3_dates(schema: Schema) -> Schema:
    """A copy of ``schema`` that reads dates as marshmallow 3 did (DEEPaaS models were written
    for it: its own test model returns ``"2019-01-1"`` as a date), on marshmallow 3 and 4."""
    relaxed = copy.deepcopy(schema)
    _relax_schema(relaxed)
    return relaxed


def _relax_schema(schema: Schema) -> None:
    for field in schema.fields.values():
        _relax(field)


def _relax(field: fields.Field) -> None:
    if type(field) in _MARSHMALLOW3:
        field.__class__ = _MARSHMALLOW3[type(field)]  # the same field, one method different
    elif isinstance(field, fields.Nested):
        _relax_schema(field.schema)
    elif isinstance(field, fields.List):
        _relax(field.inner)
    elif isinstance(field, fields.Tuple):
        for inner in field.tuple_fields:
            _relax(inner)
    elif isinstance(field, fields.Dict) and field.value_field is not None:
        _relax(field.value_field)
