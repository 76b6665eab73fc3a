"""HTTP for the client: the server's address, its token, retries, and errors as ClientError."""

from __future__ import annotations

import time
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

from .errors import ClientError

RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD"})


class Transport:
    """Requests to one server, ``url`` including any base path (``http://host/models-api``).

    Idempotent calls (GET, HEAD) are retried ``retries`` times on connection errors and on
    429/502/503/504, waiting ``backoff`` seconds doubled at each attempt (or the server's
    ``Retry-After``, up to ``max_wait``). Other calls are retried only when the connection could
    not be made (nothing was sent: a server restarting); otherwise they are sent once, since a
    prediction or a training job must not run twice because an answer was lost.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float | None = 300,
        retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 30,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(
        self, method: str, path: str, *, retry: bool = True, **kwargs: Any
    ) -> requests.Response:
        """Send ``method path``; a 2xx answer is returned, anything else raises ClientError.

        ``retry=False`` sends even an idempotent call once (a probe wants the answer now).
        """
        attempts = 1 + (self.retries if retry else 0)
        idempotent = method in IDEMPOTENT
        kwargs.setdefault("timeout", self.timeout)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self.session.request(method, self.url + path, **kwargs)
            except requests.ConnectionError as error:
                if last or not (idempotent or _not_connected(error)):
                    raise ClientError(f"Cannot reach {self.url}: {error}") from error
                self._sleep(attempt, None)
                continue
            except requests.Timeout as error:
                raise ClientError(f"No answer from {self.url} in {self.timeout}s") from error
            if response.status_code in RETRY_STATUSES and idempotent and not last:
                response.close()
                self._sleep(attempt, response.headers.get("Retry-After"))
                continue
            if not response.ok:
                raise error_from(response)
            return response
        raise AssertionError("unreachable: the last attempt returns or raises")

    def json(self, method: str, path: str, *, retry: bool = True, **kwargs: Any) -> Any:
        """The JSON document of ``method path``."""
        return document(self.request(method, path, retry=retry, **kwargs))

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        wait = self.backoff * 2**attempt
        if retry_after is not None and retry_after.isdigit():
            wait = float(retry_after)
        time.sleep(min(wait, self.max_wait))

    def close(self) -> None:
        """Close the connections kept open."""
        self.session.close()


def _not_connected(error: requests.ConnectionError) -> bool:
    """Whether the connection could not even be made, so that nothing of the request was sent."""
    cause = getattr(error.args[0] if error.args else None, "reason", None)  # urllib3's
    return isinstance(cause, NewConnectionError)


def document(response: requests.Response) -> Any:
    """The JSON body of a successful answer; a body that is not JSON is a ClientError."""
    try:
        return response.json()
    except ValueError as error:
        kind = response.headers.get("Content-Type") or "no Content-Type"
        raise ClientError(
            f"{response.request.method} {response.url} answered {kind}, not JSON: "
            f"{response.text.strip()[:200]!r}",
            response.status_code,
        ) from error


def error_from(response: requests.Response) -> ClientError:
    """The ClientError of a failed answer, with the server's JSON error body when it has one."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        errors = body.get("errors")
        return ClientError(
            body["message"],
            response.status_code,
            errors if isinstance(errors, dict) else None,
            body,
        )
    text = response.text.strip()[:500] or response.reason
    return ClientError(text, response.status_code)
