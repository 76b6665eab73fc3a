"""Waking the supervisor as soon as a job is created or cancelled: a named pipe (FIFO).

HTTP workers write a byte to ``<data-dir>/jobs/wakeup``; the supervisor waits on the pipe
(with a timeout), so it reacts at once without polling the database. Signals the supervisor
handles (a job process ending, a request to stop) wake it through the same pipe.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import stat
from pathlib import Path

log = logging.getLogger("deepserve")


def wake(path: Path) -> None:
    """Wake the supervisor listening on ``path``; does nothing when none is listening."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # no pipe yet, or no reader (ENXIO): no supervisor runs
        return
    try:
        os.write(fd, b"!")
    except BlockingIOError:  # the pipe is full: a wake-up is pending anyway
        pass
    finally:
        os.close(fd)


class Listener:
    """The supervisor's end of the pipe, also installed as the signal wake-up fd.

    Where the file system cannot hold a FIFO, a private pipe still carries the signals and
    ``shared`` is false: the supervisor must then poll for new jobs.
    """

    def __init__(self, path: Path) -> None:
        self.shared = _make_fifo(path)
        if self.shared:
            self._read = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            # Our own writer keeps the pipe open, so reads never see end-of-file.
            self._write = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        else:
            self._read, self._write = os.pipe()
            os.set_blocking(self._read, False)
            os.set_blocking(self._write, False)
        signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)

    def wait(self, timeout: float) -> bool:
        """Return when woken (``True``), or after ``timeout`` seconds (``False``)."""
        readable, _, _ = select.select([self._read], [], [], timeout)
        with contextlib.suppress(BlockingIOError):
            while readable and os.read(self._read, 4096):
                pass
        return bool(readable)

    def close(self) -> None:
        """Stop listening."""
        signal.set_wakeup_fd(-1)
        os.close(self._read)
        os.close(self._write)


def _make_fifo(path: Path) -> bool:
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISFIFO(path.stat().st_mode):
            return True
        path.unlink()
    try:
        os.mkfifo(path, 0o600)
    except OSError as error:
        log.warning("cannot create %s (%s): new jobs are found by polling", path, error)
        return False
    return True
