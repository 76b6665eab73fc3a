"""What to tell about a running job whose runner is gone: which runner, how long since its last
heartbeat, and what became of the job's process, when the reader can tell.

A runner's name says where it runs (``supervisor@HOST:DIR``, ``deepserve.PID@HOST``); on the
same machine, the reader looks whether the job's process (its pid is recorded) still exists,
so that "the runner died" is told apart from "the runner is silent" (stuck, or cut off from
the job database).
"""

from __future__ import annotations

import os
import socket
import time

from .store import Job

#: What became of the job's process, as :func:`process_state` finds it.
GONE, ALIVE, UNKNOWN = "gone", "alive", "unknown"


def runner_host(worker: str | None) -> str | None:
    """The machine of the runner called ``worker`` (``None`` if its name does not say)."""
    if not worker or "@" not in worker:
        return None
    return worker.partition("@")[2].split(":", 1)[0] or None


def process_state(job: Job) -> tuple[str, str]:
    """Whether the job's process is :data:`GONE`, :data:`ALIVE` or :data:`UNKNOWN` (another
    machine's, or none recorded), and that said for a message."""
    if job.pid is None:
        return UNKNOWN, "no job process was recorded"
    host = runner_host(job.worker)
    if host is not None and host != socket.gethostname():
        return UNKNOWN, f"its process (pid {job.pid}) ran on {host}, which cannot be checked here"
    try:
        os.kill(job.pid, 0)
    except ProcessLookupError:
        return GONE, f"its process (pid {job.pid}) is gone"
    except PermissionError:
        pass
    return ALIVE, f"its process (pid {job.pid}) still exists"


def _silence(job: Job, now: float, when: str) -> str:
    if job.heartbeat is None:
        return "no heartbeat was ever recorded"
    return f"the last heartbeat was {max(now - job.heartbeat, 0):.0f} s {when}"


def silent_runner(job: Job, timeout: float, now: float | None = None) -> str:
    """Why ``job`` is interrupted when its runner sent no heartbeat for ``timeout`` seconds."""
    now = time.time() if now is None else now
    state, process = process_state(job)
    runner = job.worker or "its runner"
    silence = _silence(job, now, "ago")
    if state == GONE:
        verdict = "it died (killed, or crashed) while the job was running"
    elif state == ALIVE:
        verdict = "it is stuck, or cannot reach the job database"
    else:
        verdict = "it died, is stuck, or cannot reach the job database"
    return (
        f"The job's runner {runner} sent no heartbeat for more than {timeout:g} s: {verdict} "
        f"({silence}; {process})."
    )


def left_running(job: Job, how: str | None, now: float | None = None) -> str:
    """Why ``job`` is interrupted when a supervisor starts and finds it left running by the
    previous one, which ended ``how`` (``"was killed by SIGKILL"``; ``None``: unknown, the
    previous server died with it)."""
    now = time.time() if now is None else now
    if how:
        cause = f"The job supervisor {how} while the job was running"
    else:
        cause = (
            f"The server whose supervisor ran the job ({job.worker}) ended without stopping "
            "it: it was killed, or its machine stopped"
        )
    silence = _silence(job, now, "before this supervisor started")
    return f"{cause} ({silence}; {process_state(job)[1]})."
