"""The Flask-RESTX application: one namespace per model, JSON everywhere."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import flask
from flask_restx import Api

from .. import __version__, paths
from ..errors import APIError
from ..jobs.backend import JobBackend, LocalBackend
from ..jobs.store import JobStore
from ..loading import Rejection
from ..record import ModelRecord
from ..settings import Settings
from ..ui import ui_blueprint
from . import auth, errors, hardening, metrics, oip, proxy, uploads
from .health import health_namespace
from .models import model_namespace, models_namespace, unserved_converter
from .versions import root_document, versions_namespace

log = logging.getLogger("deepserve")


class DeepserveApi(Api):
    """Flask-RESTX Api whose root (``GET /``) lists the versions instead of a 404.

    ``spec_extensions`` edit the Swagger document once, when it is first built; its
    ``basePath`` follows the mount point of each request (base path, proxy prefix).
    """

    def __init__(self, *args, **kwargs) -> None:
        self.spec_extensions: list[Callable[[dict], None]] = []
        super().__init__(*args, **kwargs)

    def render_root(self):
        return root_document()

    @property
    def __schema__(self) -> dict:
        fresh = not self._schema
        spec = super().__schema__
        if fresh and self._schema:
            for extend in self.spec_extensions:
                extend(spec)
        base = flask.request.script_root or "/"
        return spec if spec.get("basePath", base) == base else {**spec, "basePath": base}

    def handle_error(self, e):
        """Our own errors render as their JSON envelope, logged in one line (Flask-RESTX would
        log a traceback for every 5xx; model failures are logged with theirs where they happen)."""
        if not isinstance(e, APIError):
            return super().handle_error(e)
        if e.code >= 500:
            log.error("%s %s: %s %s", flask.request.method, flask.request.path, e.code, e.data)
        return errors.error_response(e)


def create_app(
    records: Sequence[ModelRecord],
    settings: Settings | None = None,
    data_dir: Path | None = None,
    jobs: JobBackend | None = None,
    rejections: Sequence[Rejection] = (),
) -> flask.Flask:
    """Build the WSGI application serving ``records`` (already loaded and validated).

    ``settings`` default to :class:`Settings`' defaults. Training jobs run through ``jobs``; by
    default on this machine, with their records in ``data_dir`` (by default
    :func:`deepserve.paths.data_dir`). The models of ``rejections`` (those that failed to load)
    answer 503 with their reason, are listed by readiness and counted by the metrics.
    """
    settings = settings or Settings()
    records = list(records)
    failed = {rejection.name: rejection.reason for rejection in rejections}
    jobs = jobs or LocalBackend(JobStore(data_dir or paths.data_dir()))
    app = flask.Flask("deepserve")
    app.config.update(ERROR_404_HELP=False, RESTX_MASK_SWAGGER=False, PROPAGATE_EXCEPTIONS=False)
    app_metrics = metrics.init_app(app, [record.name for record in records])
    app_metrics.record_load_failures(list(failed))
    for record in records:
        record.observe_batches(app_metrics.batch_observer(record.name))
    hardening.init_app(app, settings)
    uploads.init_app(app)
    app.url_map.converters["unserved"] = unserved_converter(records)
    api = DeepserveApi(
        app,
        version=__version__,
        title="deepserve",
        description="Machine-learning models served over a REST API.",
        doc="/api/",
        catch_all_404s=True,
    )
    auth.init_app(app, api, settings)
    api.add_namespace(versions_namespace(api))
    api.add_namespace(health_namespace(api, records, settings, failed, jobs))
    api.add_namespace(models_namespace(api, records, failed))
    for record in records:
        api.add_namespace(model_namespace(api, record, jobs))
    app.register_blueprint(ui_blueprint())
    oip.init_app(app, records, settings, failed)
    errors.init_app(app)
    proxy.init_app(app, settings)
    if any(record.train_args is not None for record in records):
        app_metrics.track_training_jobs(jobs.store.count_by_status)
    app.extensions["deepserve"] = {
        "api": api,
        "models": {r.name: r for r in records},
        "jobs": jobs.store,
        "settings": settings,
        "metrics": app_metrics,
    }
    return app
