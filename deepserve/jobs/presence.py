"""Which supervisor runs the jobs of a data directory, for anyone who asks.

The supervisor holding the data directory's lock announces itself in
``<data-dir>/jobs/supervisor.json`` (its process id, its server's, the models it runs) and
keeps that file locked (shared) while it runs. A reader tells whether the announcement is
current by trying to lock the file exclusively: the kernel drops the supervisor's lock when it
ends, however it ends (SIGKILL included), so a stale file is never taken for a live supervisor.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path

#: The announcement's file, in the jobs directory.
FILE_NAME = "supervisor.json"


def announce(path: Path, details: dict) -> int:
    """Announce the running supervisor; return the descriptor to keep open while it runs
    (closing it, or the process ending, withdraws the announcement)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # waits only for a reader's instant check
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(details).encode(), 0)
    except BaseException:
        os.close(fd)
        raise
    return fd


def current(path: Path) -> dict | None:
    """What the running supervisor announced (``{}`` while it is writing it), or ``None`` if
    no supervisor runs."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a supervisor holds it: the content is current
            with contextlib.suppress(ValueError):
                return json.loads(os.pread(fd, 65536, 0))
            return {}
        return None  # closing the descriptor releases our lock
    finally:
        os.close(fd)
