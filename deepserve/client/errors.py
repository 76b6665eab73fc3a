"""The one exception the client raises."""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """A call that did not succeed.

    ``status`` is the HTTP status of the server's answer, or ``None`` when no answer came
    (invalid arguments caught before sending, the server unreachable, a job that failed).
    ``message`` and ``errors`` (argument name -> messages) come from the server's JSON error
    body, or from the client's own checks; ``body`` is the whole error document.
    """

    def __init__(
        self,
        message: str,
        status: int | None = None,
        errors: dict[str, Any] | None = None,
        body: Any = None,
    ) -> None:
        self.message = message
        self.status = status
        self.errors = errors or {}
        if body is None:  # the client's own error, in the server's shape
            body = {"message": message, **({"errors": self.errors} if self.errors else {})}
        self.body = body
        prefix = f"{status}: " if status is not None else ""
        details = f" {self.errors}" if self.errors else ""
        super().__init__(f"{prefix}{message}{details}")
