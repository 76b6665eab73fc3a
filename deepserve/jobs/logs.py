"""Reading a job's log: whole, or only its last lines, without reading all of a long log."""

from __future__ import annotations

import os
from pathlib import Path

_BLOCK = 64 * 1024


def tail(path: Path, lines: int) -> bytes:
    """The last ``lines`` lines of the file at ``path`` (empty if there is no such file)."""
    if lines <= 0 or not path.is_file():
        return b""
    with open(path, "rb") as log:
        position = log.seek(0, os.SEEK_END)
        data = b""
        # Read blocks from the end until the newline before the first wanted line is in.
        while position > 0 and data.count(b"\n") <= lines:
            step = min(_BLOCK, position)
            position -= step
            log.seek(position)
            data = log.read(step) + data
    return b"".join(data.splitlines(keepends=True)[-lines:])
