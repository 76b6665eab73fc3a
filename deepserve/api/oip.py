"""The Open Inference Protocol (KServe v2) REST API, for models whose arguments are tensors.

How arguments and outputs map to tensors: :mod:`deepserve.api.oipmodel`.

OIP and deepserve's DEEPaaS-style API share two paths up to the trailing slash: ``/v2`` (OIP
server metadata) beside ``/v2/`` (the version object), ``/v2/models/<name>`` (OIP model
metadata) beside ``/v2/models/<name>/`` (deepserve metadata). Each protocol keeps its own
spelling and its own answer, so neither's clients see keys they do not expect; health and
readiness paths are the same for both. OIP errors are ``{"error": "..."}``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import flask

from .. import __version__
from ..errors import APIError
from ..outputs import dumps
from ..record import ModelRecord
from ..settings import Settings
from ..tensors import HEADER_LENGTH, TensorError, split_body
from .health import model_ready
from .models import not_served
from .oipmodel import OipModel, Unmappable, error_text

EXTENSIONS = ["binary_tensor_data"]


def oip_error(message: str, status: int) -> flask.Response:
    """An answer in OIP's error format."""
    return flask.Response(
        dumps({"error": message}) + "\n", status=status, mimetype="application/json"
    )


def init_app(
    app: flask.Flask, records: list[ModelRecord], settings: Settings, failed: dict[str, str]
) -> None:
    """Add the OIP routes for ``records`` to ``app`` (names that ``failed`` to load, name ->
    reason, answer 503)."""
    models: dict[str, OipModel] = {}
    reasons: dict[str, str] = {}
    served = sorted(record.name for record in records)
    for record in records:
        try:
            models[record.name] = OipModel(record)
        except Unmappable as reason:
            reasons[record.name] = (
                f"Model '{record.name}' has no Open Inference Protocol form: {reason}."
            )

    def find(name: str, version: str | None) -> OipModel:
        if name in reasons:
            raise APIError(404, reasons[name])
        if name not in models:
            raise not_served(name, served, failed)
        model = models[name]
        if version is not None and version not in model.versions():
            known = ", ".join(model.versions()) or "none"
            raise APIError(404, f"Model '{name}' has no version '{version}' (versions: {known}).")
        return model

    def route(rule: str, endpoint: str, versioned: bool, **options: Any) -> Callable:
        """Add ``view`` at ``rule`` (and its ``/versions/<version>`` form) for each served
        model by name (static paths, which win over deepserve's slashed ones), and for any
        other name."""

        def register(view: Callable) -> Callable:
            answered = _answers_errors(view)
            rules = [rule]
            if versioned:
                rules.append(rule.replace("<name>", "<name>/versions/<version>"))
            for number, pattern in enumerate(rules):
                for name in [*models, *reasons]:
                    app.add_url_rule(
                        pattern.replace("<name>", name),
                        f"oip_{endpoint}_{number}_{name}",
                        answered,
                        defaults={"name": name},
                        **options,
                    )
                unserved = pattern.replace("<name>", "<unserved:name>")
                app.add_url_rule(unserved, f"oip_{endpoint}_{number}", answered, **options)
            return view

        return register

    @app.route("/v2", endpoint="oip_server")
    def server_metadata():
        return {"name": "deepserve", "version": __version__, "extensions": EXTENSIONS}

    @app.route("/v2/models", endpoint="oip_models")
    def model_names():
        return {"models": sorted(models)}

    @route("/v2/models/<name>", "model", versioned=True)
    def model_metadata(name: str, version: str | None = None):
        return find(name, version).metadata()

    @route("/v2/models/<name>/versions/<version>/ready", "ready", versioned=False)
    def version_ready(name: str, version: str):
        model = find(name, version)
        ready = model_ready(model.record, settings)
        return {"name": name, "ready": ready}, 200 if ready else 503

    @route("/v2/models/<name>/infer", "infer", versioned=True, methods=["POST"])
    def infer(name: str, version: str | None = None):
        model = find(name, version)
        request = flask.request
        header_length = request.headers.get(HEADER_LENGTH)
        document, binary = split_body(request.get_data(), header_length)
        response, data = model.infer(document, binary if header_length is not None else None)
        if not data:
            return flask.Response(dumps(response) + "\n", mimetype="application/json")
        header = dumps(response).encode("utf-8")
        answer = flask.Response(header + b"".join(data), mimetype="application/octet-stream")
        answer.headers[HEADER_LENGTH] = str(len(header))
        return answer


def _answers_errors(view: Callable) -> Callable:
    """Errors of an OIP route in OIP's format: 400 for bad tensors, the error's own status
    otherwise."""

    @functools.wraps(view)
    def answer(*args: Any, **kwargs: Any):
        try:
            return view(*args, **kwargs)
        except TensorError as error:
            return oip_error(str(error), 400)
        except APIError as error:
            return oip_error(error_text(error), error.code)

    return answer
