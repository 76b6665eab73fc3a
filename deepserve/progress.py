"""The hook through which a model's ``train`` (or ``predict``, in an asynchronous prediction)
reports progress to its job."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

Reporter = Callable[[float | None, dict | None, str | None], None]

_reporter: Reporter | None = None


def report(
    progress: float | None = None,
    metrics: Mapping[str, Any] | None = None,
    message: str | None = None,
) -> None:
    """Report progress (a fraction from 0 to 1), metrics and/or a status message.

    Inside a job (a training, an asynchronous prediction) this updates the job record;
    anywhere else (a synchronous prediction, a direct call) it does nothing.
    """
    if progress is not None and not (0 <= progress <= 1 and math.isfinite(progress)):
        raise ValueError(f"progress must be between 0 and 1, got {progress!r}")
    if _reporter is not None:
        _reporter(progress, dict(metrics) if metrics is not None else None, message)


def set_reporter(reporter: Reporter | None) -> None:
    """Install the function that ``report`` forwards to (done by the job runner)."""
    global _reporter
    _reporter = reporter
