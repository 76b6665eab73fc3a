"""``GET /metrics`` (Prometheus text format) and the per-request measurements behind it."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterable

import flask

from ..metrics import Metrics

_MODEL_RULE = re.compile(r"^/v2/models/(?P<model>[^/<]+)/(?P<rest>.*)$")


def init_app(app: flask.Flask, model_names: Iterable[str]) -> Metrics:
    """Measure every request of ``app``, serve ``/metrics``, and return the metrics."""
    metrics = Metrics()
    labels = functools.cache(_route_labels(frozenset(model_names)))

    @app.before_request
    def _start() -> None:
        flask.g.metrics_start = time.perf_counter()
        metrics.in_flight.inc()

    @app.after_request
    def _count(response: flask.Response) -> flask.Response:
        start = flask.g.get("metrics_start")
        if start is None:  # a before_request hook that ran earlier refused the request
            return response
        rule = flask.request.url_rule
        model, route = labels(rule.rule if rule else None)
        method = flask.request.method if rule else ""
        metrics.requests.labels(model, route, method, str(response.status_code)).inc()
        if route == "/v2/models/<name>/predict/":
            metrics.predict_latency.labels(model).observe(time.perf_counter() - start)
        return response

    @app.teardown_request
    def _finish(_error=None) -> None:
        if flask.g.pop("metrics_start", None) is not None:
            metrics.in_flight.dec()

    @app.route("/metrics")
    def _metrics():
        body, content_type = metrics.exposition()
        return flask.Response(body, content_type=content_type)

    return metrics


def _route_labels(models: frozenset[str]):
    """``rule -> (model, route)``; routes of a served model read ``/v2/models/<name>/...``.

    Unmatched URLs (404s) get empty labels, so the label values stay a small, fixed set.
    """

    def labels(rule: str | None) -> tuple[str, str]:
        if rule is None:
            return "", ""
        match = _MODEL_RULE.match(rule)
        if match and match["model"] in models:
            return match["model"], "/v2/models/<name>/" + match["rest"]
        return "", rule

    return labels
