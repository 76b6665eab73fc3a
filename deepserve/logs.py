"""Log set-up for ``deepserve run``: one configuration for deepserve, gunicorn and the models.

Two formats: ``text`` (one line per record) and ``json`` (one JSON object per line, for log
collectors). Records logged while a request is answered carry its ``request_id``; access log
lines carry it in both formats.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import time

from gunicorn.glogging import Logger

FORMATS = ("text", "json")
#: The ID of the request being answered (or streamed) in this thread, for log records (set by
#: :mod:`deepserve.api.hardening`).
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
#: Where a batched prediction keeps the size of the batch that answered it.
BATCH_SIZE_KEY = "deepserve.batch_size"
TEXT_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"
# gunicorn's access line (its default, "combined") plus the request ID, the time taken and,
# for a batched prediction, " batch=N" (the size of the batch that answered it).
ACCESS_LOG_FORMAT = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s %(M)sms'
    "%(batch)s"
)
# The access-log atoms that may hold a quote (escaped, as gunicorn does).
_QUOTED = ("r", "U", "q", "f", "a", "u")
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
    "batch_size": "batch_size",
}


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (``"-"`` outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
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


class AccessLogger(Logger):
    """gunicorn's logger, with an access line built from the atoms deepserve's formats use only.

    gunicorn's own builds an atom for every request header, response header and WSGI variable
    of every request, and escapes each; this one builds those of :data:`ACCESS_LOG_FORMAT` and
    the JSON fields. No line at all when gunicorn's ``accesslog`` setting is empty.
    """

    _second, _now = -1, ""

    def now(self) -> str:
        """gunicorn's ``[day/month/year:time zone]``, formatted once per second."""
        second = int(time.time())
        if second != self._second:
            self._second, self._now = second, super().now()
        return self._now

    def access(self, resp, req, environ, request_time) -> None:
        logger = self.access_log
        if not self.cfg.accesslog or not logger.isEnabledFor(logging.INFO):
            return
        # Logger.info would also look for its caller in the stack, which no format shows.
        atoms = self.atoms(resp, req, environ, request_time)
        format_ = self.cfg.access_log_format
        logger.handle(logger.makeRecord(logger.name, logging.INFO, "", 0, format_, (atoms,), None))

    def atoms(self, resp, req, environ, request_time) -> dict:
        method, sent = environ["REQUEST_METHOD"], getattr(resp, "sent", None)
        batch_size = environ.get(BATCH_SIZE_KEY)
        request_id = next(
            (value for name, value in resp.headers if name.lower() == "x-request-id"), "-"
        )
        atoms = {
            "h": environ.get("REMOTE_ADDR", "-"),
            "l": "-",
            "u": self._get_user(environ) or "-",
            "t": self.now(),
            "r": f"{method} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}",
            "s": str(resp.status).split(None, 1)[0],
            "m": method,
            "U": environ.get("PATH_INFO"),
            "q": environ.get("QUERY_STRING"),
            "b": "-" if sent is None else str(sent),
            "B": sent,
            "f": environ.get("HTTP_REFERER", "-"),
            "a": environ.get("HTTP_USER_AGENT", "-"),
            "M": request_time.seconds * 1000 + request_time.microseconds // 1000,
            "{x-request-id}o": request_id,
            "batch_size": batch_size,
            "batch": f" batch={batch_size}" if batch_size is not None else "",
        }
        for key in _QUOTED:  # inside quotes in the text line; JsonFormatter takes them out
            value = atoms[key]
            if value and '"' in value:
                atoms[key] = value.replace('"', '\\"')
        return atoms


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
