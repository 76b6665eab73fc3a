"""The three servers, each started on a free loopback port with the same trivial model.

Every server gets a private directory: ``tmp`` (its ``TMPDIR``, to find files it leaves
behind), ``data`` (deepserve's data directory) and ``server.log`` (its output).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from environments import BENCH, Environment

HOST = "127.0.0.1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def status(port: int, method: str, path: str, timeout: float = 2) -> int | None:
    """The status of one request, or None if nothing answers."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path)
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


class Server:
    """A server process: started by :meth:`start`, stopped (with its children) by :meth:`stop`.

    ``paths`` maps each served model to the path of its predict route.
    """

    def __init__(
        self,
        label: str,
        command: list[str],
        *,
        ready_path: str,
        paths: dict[str, str],
        port: int,
        directory: Path,
    ) -> None:
        self.label = label
        self.command = command
        self.ready_path = ready_path
        self.paths = paths
        self.port = port
        self.directory = directory
        self.tmp = directory / "tmp"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 120) -> float:
        """Start the server; return the seconds from the process start to the first 200 on
        its readiness path."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "TMPDIR": str(self.tmp), "PYTHONUNBUFFERED": "1"}
        with open(self.directory / "server.log", "ab") as log:
            started = time.perf_counter()
            self.process = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.directory,
                start_new_session=True,
            )
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited early:\n{self.log()}")
            if status(self.port, "GET", self.ready_path, timeout=5) == 200:
                return time.perf_counter() - started
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"{self.label} not ready after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return (self.directory / "server.log").read_text(errors="replace")[-4000:]

    def pids(self) -> list[int]:
        """The server's process and its descendants."""
        found, queue = [], [self.process.pid]
        while queue:
            pid = queue.pop()
            found.append(pid)
            with contextlib.suppress(OSError):
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
                queue.extend(int(child) for child in children)
        return found

    def cpu_seconds(self) -> float:
        """The CPU time (user and system) the server's live processes have used so far."""
        ticks = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                # the fields after the command's name, which is in parentheses
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / CLOCK_TICKS

    def files(self) -> set[Path]:
        """The files in the server's ``TMPDIR`` now."""
        return {path for path in self.tmp.rglob("*") if path.is_file()}

    def stop(self) -> None:
        """Stop the server and every process of its session; remove its directory."""
        if self.process is not None:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(30)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # stragglers (DEEPaaS's pool)
            self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _directory(label: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"bench-{label.replace(' ', '-')}-"))


def deepserve(
    env: Environment, *, workers: int, models: list[str], options: tuple[str, ...] = ()
) -> Server:
    """``deepserve run`` serving ``models`` (deepserve.model entry points)."""
    label = " ".join(["deepserve", *options])
    port, directory = free_port(), _directory(label)
    command = [env.bin("deepserve"), "run", "--host", HOST, "--port", str(port)]
    command += ["--workers", str(workers), "--no-deepaas", "--data-dir", str(directory / "data")]
    for model in models:
        command += ["--model", model]
    return Server(
        label,
        [*command, *options],
        ready_path="/v2/health/ready",
        paths={model: f"/v2/models/{model}/predict/" for model in models},
        port=port,
        directory=directory,
    )


def flask(env: Environment, *, workers: int) -> Server:
    """The bare Flask app (``bench/flask_app.py``) on gunicorn, sync workers, its defaults."""
    port, directory = free_port(), _directory("flask")
    command = [env.bin("gunicorn"), "--bind", f"{HOST}:{port}", "--workers", str(workers)]
    command += ["--chdir", str(BENCH), "flask_app:app"]
    return Server(
        "bare Flask",
        command,
        ready_path="/ready",
        paths={"double": "/predict", "upload": "/upload", "ticker": "/stream"},
        port=port,
        directory=directory,
    )


def deepaas(env: Environment, *, workers: int, model: str) -> Server:
    """``deepaas-run`` serving ``model`` (a deepaas.v2.model entry point); no body size limit."""
    port, directory = free_port(), _directory("deepaas")
    command = [env.bin("deepaas-run"), "--listen-ip", HOST, "--listen-port", str(port)]
    command += ["--model-name", model, "--workers", str(workers), "--client-max-size", "0"]
    return Server(
        "DEEPaaS",
        command,
        ready_path="/v2/",
        paths={model: f"/v2/models/{model}/predict/"},
        port=port,
        directory=directory,
    )
