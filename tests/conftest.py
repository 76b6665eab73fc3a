"""Shared fixtures: the real test models (installed entry points), the app, a real server."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
from servers import DEEPSERVE, RunningServer, free_port, run_cli
from services import Postgres, Redis, postgres_bin

from deepserve.api import create_app
from deepserve.loading import discover
from deepserve.paths import DATA_DIR_VARIABLE


@pytest.fixture(scope="session", autouse=True)
def session_temp_dir(tmp_path_factory):
    """The temporary directory of every process of the session (tests, models, servers), inside
    pytest's own (which it prunes): the models' temporary outputs do not pile up in /tmp."""
    path = tmp_path_factory.mktemp("tmp")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", str(path))
        patch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
        yield path


@pytest.fixture(scope="session", autouse=True)
def session_data_dir(tmp_path_factory):
    """A data directory for the whole session, so that nothing writes to the user's."""
    path = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DATA_DIR_VARIABLE, str(path))
        yield path


@pytest.fixture(scope="session")
def discovery():
    """Every installed model, loaded once through the real entry points."""
    return discover()


@pytest.fixture(scope="session")
def app(discovery):
    return create_app(discovery.models)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def run_server(tmp_path_factory):
    """Start ``deepserve run ARGS...`` servers; all are stopped at the end of the test."""
    servers: list[RunningServer] = []
    log_dir = tmp_path_factory.mktemp("server-logs")

    def start(*args: str, **kwargs) -> RunningServer:
        server = RunningServer(*args, log_dir=log_dir, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def cli():
    return run_cli


def wait_until(condition, timeout: float = 30, interval: float = 0.05):
    """Poll ``condition()`` until it returns something truthy, and return that; fail after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met after {timeout}s: {condition}")
        time.sleep(interval)


@pytest.fixture
def wait():
    """:func:`wait_until`."""
    return wait_until


def process_gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie waiting for its parent counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    if not Path("/proc/self/stat").exists():
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


@pytest.fixture
def gone():
    """:func:`process_gone`."""
    return process_gone


DEPLOY = Path(__file__).resolve().parents[1] / "examples" / "deploy"


@pytest.fixture
def nginx(tmp_path, wait):
    """Run ``examples/deploy/nginx.conf`` as ``start(port_a, port_b)``: on a free loopback port,
    in front of the two replicas on those ports (which may be one). ``start`` returns its URL;
    nginx is stopped at the end of the test."""
    program = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(program).is_file():
        pytest.skip("nginx is not installed (Debian package nginx-light; .ci/run installs it)")
    processes: list[subprocess.Popen] = []

    def start(*replica_ports: int) -> str:
        port = free_port()
        config = (DEPLOY / "nginx.conf").read_text()
        config = config.replace("listen 80;", f"listen 127.0.0.1:{port};")
        for name, replica in zip(("api-1:5000", "api-2:5000"), replica_ports, strict=True):
            config = config.replace(name, f"127.0.0.1:{replica}")
        directory = tmp_path / f"nginx-{len(processes)}"
        (directory / "logs").mkdir(parents=True)
        (directory / "nginx.conf").write_text(config)
        command = [program, "-p", str(directory), "-c", str(directory / "nginx.conf")]
        subprocess.run([*command, "-t"], check=True, capture_output=True)
        processes.append(subprocess.Popen([*command, "-g", "daemon off; error_log stderr;"]))
        url = f"http://127.0.0.1:{port}"
        wait(lambda: _answers(url))
        return url

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


def _answers(url: str) -> bool:
    try:
        return requests.get(url + "/", timeout=2).ok
    except requests.ConnectionError:
        return False


@pytest.fixture
def start_supervisor():
    """Start ``python -m deepserve.jobs.supervisor ARGS...`` processes (job runners outside a
    server); each is stopped (and its jobs with it) at the end of the test."""
    processes: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        command = [sys.executable, "-m", "deepserve.jobs.supervisor", *args]
        processes.append(subprocess.Popen(command))
        return processes[-1]

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the session (``.new_database()`` gives a fresh database)."""
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (Debian package postgresql; .ci/run installs it)")
    server = Postgres(bindir)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis():
    """A Redis server for the session (``.url()`` empties it and gives the broker URL)."""
    program = shutil.which("redis-server")
    if program is None:
        pytest.skip(
            "redis-server is not installed (Debian package redis-server; .ci/run installs it)"
        )
    server = Redis(program)
    yield server
    server.stop()


@pytest.fixture
def start_worker(tmp_path_factory):
    """Start ``deepserve worker ARGS...`` processes (Celery workers); each is stopped at the
    end of the test, and its job processes with it."""
    workers: list[subprocess.Popen] = []
    log_dir = tmp_path_factory.mktemp("worker-logs")

    def start(*args: str) -> subprocess.Popen:
        log = open(log_dir / f"worker-{len(workers)}.log", "wb")  # noqa: SIM115
        command = [str(DEEPSERVE), "worker", "--log-level", "warning", *args]
        workers.append(
            subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        )
        log.close()  # the worker has its own copy
        return workers[-1]

    yield start
    for worker in workers:
        worker.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)  # its jobs end themselves when it dies
        worker.wait()


def pytest_report_header(config):
    marshmallow = importlib.metadata.version("marshmallow")  # 4.x has no __version__
    return f"marshmallow {marshmallow}, python {sys.version.split()[0]}"
