"""The server settings the application needs (auth, limits, proxy, ...), in one frozen value."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

GIB = 1024**3
_SIZE = re.compile(r"^\s*(\d+)\s*([KMGT]?)(?:i?B)?\s*$", re.IGNORECASE)
_TOKEN = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces: fits "Bearer <token>"


@dataclasses.dataclass(frozen=True)
class Settings:
    """How one server answers; the defaults run on a laptop with nothing configured.

    Tokens are kept out of ``repr`` so that logging a ``Settings`` never leaks them.
    """

    #: Bearer tokens allowed to call every route; none means authentication is off.
    tokens: tuple[str, ...] = dataclasses.field(default=(), repr=False)
    #: Bearer tokens that may read and predict/validate, but not train or cancel.
    read_only_tokens: tuple[str, ...] = dataclasses.field(default=(), repr=False)
    #: Largest request body accepted, in bytes (None: no limit).
    max_upload_size: int | None = GIB
    #: Origins allowed by CORS; none means CORS is off.
    cors_origins: tuple[str, ...] = ()
    #: URL prefix everything is served under (``""``: the root).
    base_path: str = ""
    #: How many reverse proxies in front are trusted for ``X-Forwarded-*`` (0: none).
    proxy_count: int = 0
    #: Whether each serving process warms its models before serving (readiness waits for it).
    warm: bool = True

    def __post_init__(self) -> None:
        for token in self.tokens + self.read_only_tokens:
            if not _TOKEN.match(token):
                raise ValueError("a token must be printable ASCII without spaces")
        if set(self.tokens) & set(self.read_only_tokens):
            raise ValueError("a token cannot be both a full and a read-only token")
        object.__setattr__(self, "base_path", normalise_base_path(self.base_path))

    @property
    def auth_enabled(self) -> bool:
        """Whether requests need a bearer token."""
        return bool(self.tokens or self.read_only_tokens)


def parse_size(text: str) -> int:
    """Bytes in ``1024``, ``500K``, ``500M``, ``1G``, ``2T`` (powers of 1024; ``MiB`` too)."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a size such as 1024, 500M or 1G")
    number, unit = match.groups()
    return int(number) * 1024 ** "_KMGT".index(unit.upper() or "_")


def normalise_base_path(path: str) -> str:
    """``/models-api`` from ``models-api/``; ``""`` for the root."""
    path = path.strip().strip("/")
    if not path:
        return ""
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise ValueError(f"base path {path!r} has an empty, '.' or '..' segment")
    return "/" + path


def read_tokens(path: str | Path) -> list[str]:
    """The tokens in a file: one per line; blank lines and ``#`` comments are ignored."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
