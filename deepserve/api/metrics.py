"""``GET /metrics`` (Prometheus text format) and the per-request measurements behind it."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable

import flask

from ..metrics import Metrics

_MODEL_RULE = re.compile(r"^/v2/models/(?P<model>[^/<]+)/(?P<rest>.*)$")
PREDICT_ROUTE = "/v2/models/<name>/predict/"
# Predictions whose latency is measured: deepserve's, and the Open Inference Protocol's.
PREDICT_ROUTES = frozenset(
    {PREDICT_ROUTE, "/v2/models/<name>/infer", "/v2/models/<name>/versions/<version>/infer"}
)
_START = "deepserve.metrics.start"  # when the request came in, in its WSGI environment


def init_app(app: flask.Flask, model_names: Iterable[str]) -> Metrics:
    """Measure every request of ``app``, serve ``/metrics``, and return the metrics."""
    metrics = Metrics()
    labels = _route_labels(frozenset(model_names))
    app.wsgi_app = InFlightMiddleware(app.wsgi_app, metrics.in_flight)

    @functools.cache
    def series(rule: str | None, method: str, status: int):
        """The request counter of one kind of answer, and the latency histogram of its model
        for predict routes (looked up once: ``labels()`` costs more than the update)."""
        model, route = labels(rule)
        counter = metrics.requests.labels(model, route, method, str(status))
        latency = metrics.predict_latency.labels(model) if route in PREDICT_ROUTES else None
        return counter, latency

    @app.after_request
    def _count(response: flask.Response) -> flask.Response:
        request = flask.request
        rule = request.url_rule
        if rule is None:  # unmatched URLs: fixed, empty labels
            counter, latency = series(None, "", response.status_code)
        else:
            counter, latency = series(rule.rule, request.method, response.status_code)
        counter.inc()
        if latency is not None:
            latency.observe(time.perf_counter() - request.environ[_START])
        return response

    @app.route("/metrics")
    def _metrics():
        body, content_type = metrics.exposition()
        return flask.Response(body, content_type=content_type)

    return metrics


def stream_started(model: str) -> Callable[[int], None]:
    """Observe the time from this request's arrival to its stream's first item, and count the
    stream as in flight until it ends (after its view has returned). Returns what to call with
    the number of items sent when the stream ends."""
    streams = _metrics().stream_observer(model)
    streams.started(time.perf_counter() - flask.request.environ[_START])
    return streams.ended


def _metrics() -> Metrics:
    return flask.current_app.extensions["deepserve"]["metrics"]


class InFlightMiddleware:
    """WSGI middleware counting the requests being answered, and noting when each came in
    (cheaper than a pair of Flask hooks, and it sees every request whatever the app does)."""

    def __init__(self, app, in_flight) -> None:
        self.app = app
        self.in_flight = in_flight

    def __call__(self, environ: dict, start_response):
        environ[_START] = time.perf_counter()
        self.in_flight.inc()
        try:
            return self.app(environ, start_response)
        finally:
            self.in_flight.dec()


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
