"""The helper process ``deepserve run`` keeps beside gunicorn: the local job supervisor, or the
job maintenance of a Celery set-up.

The gunicorn master starts it once it listens, watches it (:class:`HelperProcess` ``reap`` and
``watch``, called from the master's loop) and restarts it with back-off when it dies, logging
an ERROR with its exit status. Its state lives in memory shared with the serving workers
(mapped before they are forked), so that any worker can tell, without a system call, that the
helper is down and why: readiness and job submissions say so while it is.
"""

from __future__ import annotations

import dataclasses
import logging
import mmap
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .process import STOP_GRACE

log = logging.getLogger("deepserve")

#: Seconds before restarting a helper that died; doubled at each death in a row, up to
#: :data:`MAX_BACKOFF`.
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 60.0
#: A helper that ran this long counts as healthy again: its next restart waits the least.
STABLE_AFTER = 60.0

# The shared state: the running helper's pid (0: none), and while none runs, how the last one
# ended (its return code), when, and when the next one starts.
_STATE = struct.Struct("qqdd")


@dataclasses.dataclass(frozen=True)
class Outage:
    """The helper is not running: why (``"the job supervisor was killed by SIGKILL"``) and
    in how many seconds it is started again."""

    reason: str
    retry_after: float


class HelperProcess:
    """A helper of ``deepserve run`` (``python -m MODULE``), called ``name`` in messages. It
    ends by itself when the master dies (it is given ``--parent-pid``); when restarted, it is
    told how the previous one ended (``--previous-exit``). The options are those of
    :func:`deepserve.jobs.maintenance.options`."""

    def __init__(
        self,
        module: str,
        data_dir: Path,
        *,
        name: str,
        retention_days: float,
        heartbeat_timeout: float,
        log_level: str,
        log_format: str = "text",
        arguments: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.command = [
            sys.executable, "-m", module, "--data-dir", str(data_dir),
            "--retention-days", str(retention_days), "--heartbeat-timeout",
            str(heartbeat_timeout), "--log-level", log_level, "--log-format", log_format,
            *arguments,
        ]  # fmt: skip
        self.process: subprocess.Popen | None = None
        self._state = mmap.mmap(-1, _STATE.size)  # shared with the processes forked later
        self._started_at = 0.0
        self._backoff = FIRST_BACKOFF
        self._ended: tuple[int, float] | None = None  # return code, back-off: until restarted
        self._logged = False  # whether its death was logged

    # -- in the master -------------------------------------------------------------------

    def start(self, previous_exit: str | None = None) -> None:
        """Start the helper."""
        command = [*self.command, "--parent-pid", str(os.getpid())]
        if previous_exit:
            command += ["--previous-exit", previous_exit]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        self._started_at = time.monotonic()
        self._publish(self.process.pid, 0, 0.0, 0.0)

    def reap(self) -> None:
        """Collect the helper's exit status if it ended, and plan its restart. Call it before
        anything else waits for any child (gunicorn's ``waitpid(-1)``), which would take the
        status; it does not log, so it is safe in a signal handler."""
        if self.process is None or self._ended is not None or self.process.poll() is None:
            return
        if time.monotonic() - self._started_at >= STABLE_AFTER:
            self._backoff = FIRST_BACKOFF
        self._ended = (self.process.returncode, self._plan_restart(self.process.returncode))

    def watch(self) -> None:
        """Log the helper's death, and restart it when its back-off is over."""
        self.reap()
        if self._ended is None:
            return
        code, delay = self._ended
        if not self._logged:
            self._logged = True
            log.error(
                "the %s (pid %s) %s; restarting it in %g s",
                self.name, self.process.pid, describe_exit(code), delay,
            )  # fmt: skip
        if time.time() < self._read()[3]:
            return
        try:
            self.start(previous_exit=describe_exit(code))
        except OSError as error:  # no process could be made (memory, process limits)
            delay = self._plan_restart(code)
            log.error("cannot restart the %s (%s); retrying in %g s", self.name, error, delay)
            return
        self._ended = None
        self._logged = False
        log.info("the %s restarted, pid %s", self.name, self.process.pid)

    def _plan_restart(self, returncode: int) -> float:
        """Publish that the helper is down, and when it restarts; return the delay."""
        delay, self._backoff = self._backoff, min(self._backoff * 2, MAX_BACKOFF)
        now = time.time()
        self._publish(0, returncode, now, now + delay)
        return delay

    def stop(self, timeout: float = STOP_GRACE + 5) -> None:
        """Ask the helper to stop (SIGTERM); kill it if it does not."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    # -- anywhere ------------------------------------------------------------------------

    def outage(self) -> Outage | None:
        """Why the helper is not running now, or ``None`` while it runs."""
        pid, code, down_since, restart_at = self._read()
        if pid:
            return None
        if not down_since:
            return Outage(f"the {self.name} has not started yet", FIRST_BACKOFF)
        retry = max(restart_at - time.time(), 0.0)
        return Outage(f"the {self.name} {describe_exit(code)}", retry)

    def _publish(self, *values) -> None:
        self._state[:] = _STATE.pack(*values)

    def _read(self) -> tuple[int, int, float, float]:
        # The master writes the few bytes in one copy; reading until two reads agree rules
        # out seeing half of a write.
        first = self._state[:]
        while (again := self._state[:]) != first:
            first = again
        return _STATE.unpack(first)


def describe_exit(returncode: int) -> str:
    """``"was killed by SIGKILL"``, ``"exited with status 1"``: how a process ended."""
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"
