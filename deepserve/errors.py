"""The error types every entry (HTTP, CLI, jobs) raises; each renders as the same JSON envelope."""

from __future__ import annotations

import math
from typing import Any

from werkzeug.exceptions import HTTPException


class APIError(HTTPException):
    """An error with an HTTP status and a JSON body ``{"message": ..., **extra}``."""

    def __init__(self, code: int, message: str, **extra: Any) -> None:
        super().__init__(description=message)
        self.code = code
        self.data = {"message": message, **extra}


class ArgumentError(APIError):
    """Arguments that do not match the declarations: 422 with per-argument ``errors``."""

    def __init__(self, errors: dict, message: str = "Invalid arguments") -> None:
        super().__init__(422, message, errors=errors)


class ModelError(APIError):
    """The model raised or returned something it should not have: 500, no traceback."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(500, message, **extra)


class NotSupported(APIError):
    """The model does not implement the requested method: 501."""

    def __init__(self, model: str, method: str, detail: str = "") -> None:
        message = f"Model '{model}' does not implement {method}"
        super().__init__(501, f"{message}: {detail}" if detail else f"{message}.")


class TryLater(APIError):
    """The request cannot be served now (503, 429); ``Retry-After`` says in how many seconds
    to try again."""

    def __init__(self, code: int, message: str, retry_after: float) -> None:
        super().__init__(code, message)
        self.retry_after = max(1, math.ceil(retry_after))

    def get_headers(self, environ=None, scope=None) -> list[tuple[str, str]]:
        return [*super().get_headers(environ, scope), ("Retry-After", str(self.retry_after))]


def error_body(error: HTTPException) -> dict:
    """The JSON body of ``error``: an :class:`APIError`'s data, else ``{"message": ...}``."""
    return getattr(error, "data", None) or {"message": error.description}
