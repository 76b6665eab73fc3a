"""What an interrupted job says happened: its runner, its silence, and its process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from deepserve.jobs.interruptions import left_running, runner_host, silent_runner
from deepserve.jobs.store import RUNNING, Job

HOST = socket.gethostname()


def running_job(pid: int | None, worker: str, beaten: float | None = 42) -> Job:
    now = time.time()
    heartbeat = None if beaten is None else now - beaten
    return Job("j", "m", RUNNING, {}, now - 100, now - 100, pid=pid, worker=worker,
               heartbeat=heartbeat)  # fmt: skip


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.mark.parametrize(
    ("worker", "host"),
    [
        (f"supervisor@{HOST}:/data/dir", HOST),
        ("deepserve.4242@gpu-7", "gpu-7"),
        ("a runner", None),
        (None, None),
    ],
)
def test_the_runner_s_name_says_its_machine(worker, host):
    assert runner_host(worker) == host


def test_a_runner_whose_job_process_is_gone_died(dead_pid):
    job = running_job(dead_pid, f"deepserve.1@{HOST}")
    assert silent_runner(job, 30) == (
        f"The job's runner deepserve.1@{HOST} sent no heartbeat for more than 30 s: it died "
        f"(killed, or crashed) while the job was running (the last heartbeat was 42 s ago; its "
        f"process (pid {dead_pid}) is gone)."
    )


def test_a_runner_whose_job_process_lives_is_only_silent():
    job = running_job(os.getpid(), f"supervisor@{HOST}:/data", beaten=None)
    assert silent_runner(job, 5.5) == (
        f"The job's runner supervisor@{HOST}:/data sent no heartbeat for more than 5.5 s: it is "
        f"stuck, or cannot reach the job database (no heartbeat was ever recorded; its process "
        f"(pid {os.getpid()}) still exists)."
    )


def test_another_machine_s_process_is_not_looked_for(dead_pid):
    job = running_job(dead_pid, "deepserve.1@elsewhere")
    assert silent_runner(job, 30).endswith(
        ": it died, is stuck, or cannot reach the job database (the last heartbeat was 42 s "
        f"ago; its process (pid {dead_pid}) ran on elsewhere, which cannot be checked here)."
    )
    assert silent_runner(running_job(None, "x"), 30).endswith(
        "(the last heartbeat was 42 s ago; no job process was recorded)."
    )


def test_a_job_left_running_says_how_its_supervisor_ended(dead_pid):
    job = running_job(dead_pid, f"supervisor@{HOST}:/data", beaten=3)
    gone = f"its process (pid {dead_pid}) is gone"
    assert left_running(job, "was killed by SIGKILL") == (
        "The job supervisor was killed by SIGKILL while the job was running (the last "
        f"heartbeat was 3 s before this supervisor started; {gone})."
    )
    assert left_running(job, None) == (
        f"The server whose supervisor ran the job (supervisor@{HOST}:/data) ended without "
        "stopping it: it was killed, or its machine stopped (the last heartbeat was 3 s before "
        f"this supervisor started; {gone})."
    )
