"""Choosing the job backend by name, where every backend is known (the server's start-up)."""

from __future__ import annotations

from .backend import JobBackend, LocalBackend
from .slots import MAX_ASYNC_PREDICTIONS
from .store import JobStore

BACKENDS = ("local", "celery")


def open_backend(
    name: str,
    store: JobStore,
    *,
    broker: str | None = None,
    max_jobs: int = 1,
    max_predictions: int = MAX_ASYNC_PREDICTIONS,
    **settings,
) -> JobBackend:
    """The backend called ``name`` (one of :data:`BACKENDS`); Celery needs a ``broker`` URL
    and the ``celery`` extra (a :class:`deepserve.extras.MissingExtra` error otherwise); the job
    slots (``max_jobs``, ``max_predictions``) are the local supervisor's (Celery workers have
    their own)."""
    if name == "local":
        return LocalBackend(store, max_jobs=max_jobs, max_predictions=max_predictions, **settings)
    if name != "celery":
        raise ValueError(f"unknown job backend {name!r}: use one of {', '.join(BACKENDS)}")
    if not broker:
        raise ValueError("Celery jobs need a broker URL (--broker redis://HOST:PORT/DB)")
    from .celery_backend import CeleryBackend  # imports Celery: only when asked for

    return CeleryBackend(store, broker, **settings)
