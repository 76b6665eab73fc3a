"""One private temporary directory per server, so that a dead server or worker leaves nothing.

``deepserve run`` makes ``$TMPDIR/deepserve-server-XXXX/`` (mode 0700) the temporary directory
of the master, of its helpers and, in a ``worker-<pid>/`` folder each, of its workers: uploads,
the metrics files and the models' temporary files all land there. The master removes a worker's
folder when the worker exits (even killed in the middle of an upload) and the whole directory
when it exits itself. A master that is killed cannot: the next server to start on the machine
removes the directories of servers that are gone. A server holds a lock on its directory's
``lock`` file as long as it or one of its workers lives (the kernel releases it with the last of
them), which is how the others tell a live server's directory from a stale one.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("deepserve")

PREFIX = "deepserve-server-"
LOCK = "lock"


class ServerDirectory:
    """The temporary directory of this server (see the module's description)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def worker_dir(self, pid: int) -> Path:
        """The temporary directory of worker ``pid``."""
        return self.path / f"worker-{pid}"

    def enter_worker(self) -> None:
        """Make this (forked worker) process's temporary directory its own folder."""
        path = self.worker_dir(os.getpid())
        path.mkdir(mode=0o700)
        _use_temp_dir(str(path))

    def worker_exited(self, pid: int) -> None:
        """Remove what worker ``pid`` left behind."""
        shutil.rmtree(self.worker_dir(pid), ignore_errors=True)


@contextlib.contextmanager
def server_directory() -> Iterator[ServerDirectory]:
    """Create this server's directory and make it the temporary directory of this process
    (and of the processes it starts) while it lasts; remove it afterwards. Stale directories of
    servers that are gone are removed first."""
    parent = tempfile.gettempdir()
    sweep(Path(parent))
    path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))  # mode 0700
    lock = os.open(path / LOCK, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    owner, previous = os.getpid(), os.environ.get("TMPDIR")
    _use_temp_dir(str(path))
    try:
        yield ServerDirectory(path)
    finally:
        if os.getpid() == owner:  # not in a forked worker leaving the block
            _use_temp_dir(previous)
            shutil.rmtree(path, ignore_errors=True)
            os.close(lock)


def sweep(parent: Path) -> None:
    """Remove the server directories in ``parent`` whose servers (and workers) are all gone."""
    for path in parent.glob(PREFIX + "*"):
        try:
            if path.stat().st_uid != os.getuid():
                continue
            lock = os.open(path / LOCK, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue  # not ours, being created, or removed meanwhile
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its server lives
        finally:
            os.close(lock)
        log.info("removing %s, left behind by a server that is gone", path)
        shutil.rmtree(path, ignore_errors=True)


def _use_temp_dir(path: str | None) -> None:
    """Make ``path`` (None: the system's default) this process's temporary directory."""
    if path is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = path
    tempfile.tempdir = path
