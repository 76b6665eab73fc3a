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
from collections.abc import Sequence
from pathlib import Path

import pytest
import requests
from servers import DEEPSERVE, RunningServer, free_port, run_cli
from services import Postgres, Redis, postgres_bin

from deepserve.api import create_app
from deepserve.jobs.backend import JobBackend, LocalBackend
from deepserve.jobs.backends import open_backend
from deepserve.jobs.store import RUNNING, JobStore
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


def wait_until(condition, timeout: float = 30, interval: float = 0.05, fail: bool = True):
    """Poll ``condition()`` until it returns something truthy, and return that; after
    ``timeout`` seconds, fail (or, without ``fail``, return the last value)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            if not fail:
                return value
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
    except (FileNotFoundError, ProcessLookupError):  # reaped before, or while, it was read
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
    in front of the two replicas on those ports (which may be one), optionally with another
    ``read_timeout`` (``proxy_read_timeout``). ``start`` returns its URL; nginx is stopped at
    the end of the test."""
    program = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(program).is_file():
        pytest.skip("nginx is not installed (Debian package nginx-light; .ci/run installs it)")
    processes: list[subprocess.Popen] = []

    def start(*replica_ports: int, read_timeout: str = "130s") -> str:
        port = free_port()
        config = (DEPLOY / "nginx.conf").read_text()
        config = config.replace("listen 80;", f"listen 127.0.0.1:{port};")
        config = config.replace("proxy_read_timeout 130s;", f"proxy_read_timeout {read_timeout};")
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


class JobRunners:
    """Job runners outside a server, started by a test or a module: job supervisors
    (``python -m deepserve.jobs.supervisor ARGS...``) and Celery workers (``deepserve worker
    ARGS...``). :meth:`stop` stops them all, and their jobs with them."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []
        self._groups: set[int] = set()  # the processes that lead a process group

    def supervisor(self, *args: str) -> subprocess.Popen:
        """Start a supervisor."""
        command = [sys.executable, "-m", "deepserve.jobs.supervisor", *args]
        self.processes.append(subprocess.Popen(command))
        return self.processes[-1]

    def worker(self, *args: str) -> subprocess.Popen:
        """Start a Celery worker, in a process group of its own (its jobs' processes)."""
        log = open(self.log_dir / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115
        command = [str(DEEPSERVE), "worker", "--log-level", "warning", *args]
        self.processes.append(
            subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        )
        log.close()  # the worker has its own copy
        self._groups.add(self.processes[-1].pid)
        return self.processes[-1]

    def stop(self) -> None:
        """Stop every runner (SIGTERM, then SIGKILL after 15 s, a worker's group with it)."""
        for process in self.processes:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(15)
            if process.pid in self._groups:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # its jobs end when it dies
            elif process.returncode is None:
                process.kill()
            process.wait()


@pytest.fixture
def job_runners(tmp_path_factory):
    """:class:`JobRunners` stopped at the end of the test."""
    runners = JobRunners(tmp_path_factory.mktemp("worker-logs"))
    yield runners
    runners.stop()


@pytest.fixture
def start_supervisor(job_runners):
    """Start ``python -m deepserve.jobs.supervisor ARGS...`` processes (job runners outside a
    server); each is stopped (and its jobs with it) at the end of the test."""
    return job_runners.supervisor


class SharedJobs:
    """One job runner of ``models`` for every test of a module, running jobs one at a time on
    one data directory: a local supervisor with SQLite records (``broker`` None), or a Celery
    worker (Redis broker) with PostgreSQL records. Starting a runner costs more than most of
    these tests; :meth:`clear` gives the next test a runner without jobs instead."""

    def __init__(
        self,
        runners: JobRunners,
        data_dir: Path,
        models: Sequence[str],
        database: str | None = None,
        broker: str | None = None,
    ) -> None:
        self.data_dir, self.models, self.database, self.broker = data_dir, models, database, broker
        if broker is None:
            runners.supervisor("--data-dir", str(data_dir), *models)
        else:
            runners.worker(
                *[arg for model in models for arg in ("--model", model)],
                "--broker", broker, "--database", database, "--data-dir", str(data_dir),
            )  # fmt: skip

    def backend(self) -> JobBackend:
        """A backend of the runner's jobs (its store closed by :meth:`clear`)."""
        store = JobStore(self.data_dir, self.database)
        if self.broker is None:
            return LocalBackend(store)
        return open_backend("celery", store, broker=self.broker)

    def clear(self, backend: JobBackend) -> None:
        """Cancel every job, wait until no job process is left, and remove every record and
        job directory: as a fresh data directory to the next test."""
        store = backend.store
        jobs = [job for model in self.models for job in store.list(model, limit=100_000)]
        running = [job.id for job in jobs if job.active and backend.cancel(job.id) == RUNNING]
        for job_id in running:
            # a job claimed a moment ago gets its process (and pid) before it is stopped
            pid = wait_until(lambda job_id=job_id: store.get(job_id).pid, timeout=5, fail=False)
            if pid:
                wait_until(lambda pid=pid: process_gone(pid), timeout=15)
        if running:
            time.sleep(0.2)  # the runner has noticed the end of the jobs it ran
        for job in jobs:
            store.delete(job.id)
        store.close()


@pytest.fixture(scope="module", params=["local+sqlite", "celery+postgresql"])
def shared_jobs(request, tmp_path_factory):
    """:class:`SharedJobs` of the test module's ``RUNNER_MODELS``, for each kind of runner."""
    runners = JobRunners(tmp_path_factory.mktemp("worker-logs"))
    data_dir = tmp_path_factory.mktemp("jobs") / "data"
    services = {}
    if request.param == "celery+postgresql":
        services["database"] = request.getfixturevalue("postgres").new_database()
        services["broker"] = request.getfixturevalue("redis").url()
    try:
        yield SharedJobs(runners, data_dir, request.module.RUNNER_MODELS, **services)
    finally:
        runners.stop()


@pytest.fixture
def jobs_backend(shared_jobs) -> JobBackend:
    """A backend of :func:`shared_jobs`; the test's jobs are removed after it."""
    backend = shared_jobs.backend()
    yield backend
    shared_jobs.clear(backend)


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
def start_worker(job_runners):
    """Start ``deepserve worker ARGS...`` processes (Celery workers); each is stopped at the
    end of the test, and its job processes with it."""
    return job_runners.worker


def pytest_report_header(config):
    marshmallow = importlib.metadata.version("marshmallow")  # 4.x has no __version__
    return f"marshmallow {marshmallow}, python {sys.version.split()[0]}"
