"""Log set-up for ``deepserve run``: one configuration for deepserve, gunicorn and the models.

Two formats: ``text`` (one line per record) and ``json`` (one JSON object per line, for log
collectors). Records logged while a request is answered carry its ``request_id``; access log
lines carry it in both formats.
"""

from __future__ import annotations

import datetime
import json
import logging

import flask

FORMATS = ("text", "json")
#: Where the request ID (set by :mod:`deepserve.api.hardening`) is kept in the WSGI environment.
REQUEST_ID_KEY = "deepserve.request_id"
TEXT_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"
# gunicorn's access line (its default, "combined") plus the request ID and the time taken.
ACCESS_LOG_FORMAT = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s %(M)sms'
)
# gunicorn access-log atoms -> JSON keys.
_ACCESS_FIELDS = {
    "h": "remote_addr",
    "m": "method",
    "U": "path",
    "q": "query",
    "B": "bytes",
    "M": "duration_ms",
    "f": "referer",
    "a": "user_agent",
    "{x-request-id}o": "request_id",
}


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (``"-"`` outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            inside = flask.has_request_context()
            record.request_id = flask.request.environ.get(REQUEST_ID_KEY, "-") if inside else "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record; gunicorn access records become structured fields."""

    def __init__(self, component: str = "") -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        document = {
            "time": datetime.datetime.fromtimestamp(
                record.created, datetime.timezone.utc
            ).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        if self.component:
            document["component"] = self.component
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            atoms = {key: _unquoted(record.args[atom]) for atom, key in _ACCESS_FIELDS.items()}
            document.update(atoms, status=int(record.args["s"]))
        elif getattr(record, "request_id", "-") != "-":
            document["request_id"] = record.request_id
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str)


def _unquoted(value):
    """An access-log atom without the backslash gunicorn puts before quotes (for its text line)."""
    return value.replace('\\"', '"') if isinstance(value, str) else value


def logging_config(log_format: str, level: str, component: str = "") -> dict:
    """A :func:`logging.config.dictConfig` for the root logger and gunicorn's loggers.

    ``component`` names a helper process (``jobs``) in each of its lines.
    """
    if log_format == "json":
        formatter = {"()": JsonFormatter, "component": component}
    else:
        tag = f"[{component}] " if component else ""
        formatter = {"format": TEXT_FORMAT.replace("%(message)s", tag + "%(message)s")}
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "deepserve",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    quiet = {"level": level.upper(), "handlers": ["stderr"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"deepserve": formatter},
        "handlers": {"stderr": handler},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {"gunicorn.error": quiet, "gunicorn.access": {**quiet, "level": "INFO"}},
    }
