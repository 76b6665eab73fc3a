"""Real PostgreSQL and Redis servers for the tests (Debian's ``postgresql`` and
``redis-server`` packages): each started on a free loopback port, in a temporary directory,
and stopped (the directory removed) at the end of the session."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from servers import free_port


def postgres_bin() -> Path | None:
    """The directory of PostgreSQL's server programs (``initdb``, ``pg_ctl``), if installed."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    return next((path for path in candidates if (path / "pg_ctl").is_file()), None)


#: The system's temporary directory, read when conftest.py imports this module.
SHARED_TMP = tempfile.gettempdir()


class Postgres:
    """A PostgreSQL server of our own, trusting local connections of user ``deepserve``.

    PostgreSQL refuses to run as root: as root, it runs as ``nobody``.
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        # not the session's private TMPDIR (conftest.py): nobody could not reach it
        self.dir = Path(tempfile.mkdtemp(prefix="deepserve-postgres-", dir=SHARED_TMP))
        self.port = free_port()
        self._as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        if self._as_user:
            shutil.chown(self.dir, "nobody")
        self._names = itertools.count()
        data = str(self.dir / "data")
        self._run(
            "initdb", "-D", data, "-U", "deepserve", "--auth=trust", "-E", "UTF8", "--no-sync"
        )
        options = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -F -c max_connections=300"
        self._run("pg_ctl", "-D", data, "-o", options, "-l", str(self.dir / "log"), "-w", "start")

    def _run(self, program: str, *args: str) -> None:
        command = [*self._as_user, str(self.bindir / program), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database``."""
        return f"postgresql://deepserve@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database; return its URL."""
        name = f"jobs{next(self._names)}"
        with psycopg.connect(self.url()) as db:
            db.autocommit = True
            db.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def allow_connections(self, url: str, allowed: bool) -> None:
        """Let clients connect to the database of ``url``, or not (and cut them off)."""
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url()) as db:
            db.autocommit = True
            db.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {str(allowed).lower()}")
            if not allowed:
                db.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    [name],
                )

    def stop(self) -> None:
        """Stop the server at once and remove its files."""
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    """A Redis server of our own, without persistence."""

    def __init__(self, program: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="deepserve-redis-"))
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                program,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while self.command(b"PING") != b"+PONG\r\n":
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def command(self, command: bytes) -> bytes:
        """Send one inline command; return the raw answer (empty if none can be had)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                sock.sendall(command + b"\r\n")
                return sock.recv(4096)
        except OSError:
            return b""

    def url(self) -> str:
        """The broker URL, emptied first (no message from an earlier test)."""
        self.command(b"FLUSHALL")
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        """Stop the server and remove its files."""
        self.process.terminate()
        self.process.wait(30)
        shutil.rmtree(self.dir, ignore_errors=True)
