"""Liveness and readiness, KServe / Open Inference style: the status code carries the answer.

A model is ready in a serving process once its ``warm()`` ran in that process (or right after
loading when the server runs with ``--no-warm``). gunicorn warms a worker before the worker
accepts connections, so in practice every worker that answers is ready; the check still reads
the answering process's own state rather than assuming it.
"""

from __future__ import annotations

from flask_restx import Api, Namespace, Resource

from ..jobs.backend import JobBackend
from ..record import ModelRecord
from ..settings import Settings

PREFIX = "/v2/health/"


def model_ready(record: ModelRecord, settings: Settings) -> bool:
    """Whether ``record`` is ready in this process: warmed, or served without warming."""
    return record.warmed or not settings.warm


def health_namespace(
    api: Api,
    records: list[ModelRecord],
    settings: Settings,
    failed: dict[str, str],
    jobs: JobBackend | None = None,
) -> Namespace:
    """``/v2/health/live``, ``/v2/health/ready`` and ``/v2/models/<name>/ready``; server
    readiness also needs the job helper of ``jobs`` to run, when the server has one.

    The models that ``failed`` to load (name -> reason) are listed apart: they never become
    ready, and a probe that waited for them would take the models that work out of service.
    """
    ns = Namespace("health", path="/v2", description="Liveness and readiness probes")
    live_model = api.schema_model(
        "Liveness", {"type": "object", "properties": {"live": {"type": "boolean"}}}
    )
    server_model = api.schema_model(
        "Readiness",
        {
            "type": "object",
            "required": ["ready", "models"],
            "properties": {
                "ready": {"type": "boolean"},
                "models": {
                    "type": "object",
                    "description": "model name -> ready",
                    "additionalProperties": {"type": "boolean"},
                },
                "jobs": {
                    "type": "object",
                    "description": "servers with a job helper (trainings, asynchronous "
                    "predictions): whether it (the job supervisor, or the Celery job "
                    "maintenance) runs, else why not",
                    "required": ["ready", "reason"],
                    "properties": {
                        "ready": {"type": "boolean"},
                        "reason": {"type": "string", "x-nullable": True},
                    },
                },
                "rejected": {
                    "type": "object",
                    "description": "model name -> why it failed to load (it is not served)",
                    "additionalProperties": {"type": "string"},
                },
            },
        },
    )
    model_model = api.schema_model(
        "ModelReadiness",
        {
            "type": "object",
            "required": ["name", "ready"],
            "properties": {"name": {"type": "string"}, "ready": {"type": "boolean"}},
        },
    )

    def answer(body: dict) -> tuple[dict, int]:
        return body, 200 if body["ready"] else 503

    @ns.route("/health/live")
    class Live(Resource):
        @ns.response(200, "The process is up", live_model)
        def get(self):
            """Liveness: the serving process answers."""
            return {"live": True}

    @ns.route("/health/ready")
    class Ready(Resource):
        @ns.response(200, "Every served model is ready (rejected ones are listed)", server_model)
        @ns.response(503, "Some model is not ready yet, or the job helper is down", server_model)
        def get(self):
            """Readiness: every served model is loaded (and warmed) in this process, and the
            jobs' helper process runs."""
            models = {record.name: model_ready(record, settings) for record in records}
            body = {"ready": all(models.values()), "models": models, "rejected": failed}
            if jobs is not None and jobs.helper_process is not None:
                outage = jobs.outage()
                body["jobs"] = {"ready": outage is None, "reason": outage and outage.reason}
                body["ready"] = body["ready"] and outage is None
            return answer(body)

    def add_model_ready(record: ModelRecord) -> None:
        @ns.route(f"/models/{record.name}/ready", endpoint=f"ready_{record.name}")
        class ModelReady(Resource):
            @ns.doc(id=f"ready_{record.name}")
            @ns.response(200, "The model is ready", model_model)
            @ns.response(503, "The model is not ready yet", model_model)
            def get(self):
                """Readiness of one model in this process."""
                return answer({"name": record.name, "ready": model_ready(record, settings)})

    for record in records:
        add_model_ready(record)
    return ns
