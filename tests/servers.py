"""Real ``deepserve`` processes for tests: a server on a free loopback port, the CLI."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sysconfig
import time
from pathlib import Path

import requests

DEEPSERVE = Path(sysconfig.get_path("scripts")) / "deepserve"


def free_port() -> int:
    """A TCP port on loopback that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningServer:
    """A ``deepserve run`` subprocess on a free loopback port.

    With ``script``, a shell script that runs ``deepserve run`` instead (the port comes through
    ``DEEPSERVE_PORT``), in ``cwd``.
    """

    def __init__(
        self,
        *args: str,
        log_dir: Path,
        env: dict | None = None,
        ready_timeout: float = 60,
        ready_path: str = "/",
        program: Path = DEEPSERVE,
        script: str | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log_dir / f"deepserve-{self.port}.log"
        command = [str(program), "run", "--port", str(self.port), *args]
        if script is not None:
            command = ["bash", "-c", script]
        self._log_file = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {}), "DEEPSERVE_PORT": str(self.port)},
            cwd=cwd,
            start_new_session=True,
        )
        try:
            self._wait_ready(ready_timeout, ready_path)
        except BaseException:
            self.stop()  # never leave a server behind, whatever went wrong
            raise

    def _wait_ready(self, timeout: float, path: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"deepserve run exited early:\n{self.output()}")
            # Timeout: the socket is open but the worker is still warming its models.
            with contextlib.suppress(requests.ConnectionError, requests.Timeout):
                if requests.get(self.url + path, timeout=2).ok:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"deepserve run not ready after {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Stop the server (and its workers); return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # no orphaned worker survives a test
        self._log_file.close()
        return self.process.returncode


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run the installed ``deepserve`` command."""
    return subprocess.run(
        [str(DEEPSERVE), *args], capture_output=True, text=True, timeout=120, **kwargs
    )
