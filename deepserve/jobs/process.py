"""The process of one job (:class:`JobProcess`), started by a supervisor or a Celery worker
the same way."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys

from .store import ERROR, TRAIN, Job, JobStore

log = logging.getLogger("deepserve")

#: Seconds a job has to end after SIGTERM (cancel, stop) before it is killed.
STOP_GRACE = 5.0


class JobProcess:
    """The process of one running job: ``python -m deepserve.jobs.execute JOB_ID PARENT_PID``
    in its own session (so that its whole process group can be signalled), with stdout and
    stderr appended to the job's log. It ends itself if this (parent) process dies."""

    def __init__(self, job_id: str, process: subprocess.Popen, kind: str = TRAIN) -> None:
        self.job_id = job_id
        self.kind = kind
        self.process = process
        self.stop_requested: float | None = None
        self.finished_at: float | None = None  # when the job was seen to record its end

    @classmethod
    def launch(cls, store: JobStore, job: Job) -> JobProcess | None:
        """Start the process of a claimed job; a job that cannot start ends as ``error``."""
        command = [sys.executable, "-m", "deepserve.jobs.execute", job.id, str(os.getpid())]
        try:
            store.job_dir(job.id).mkdir(parents=True, exist_ok=True)
            with open(store.log_path(job.id), "ab") as output:
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
        except OSError as error:
            store.finish(job.id, ERROR, error=f"Cannot start the job: {error}")
            store.remove_files(job.id)
            return None
        store.set_pid(job.id, process.pid)
        log.info("job %s (model %r) started, pid %s", job.id, job.model, process.pid)
        return cls(job.id, process, job.kind)

    def poll(self) -> int | None:
        """The exit code, or ``None`` while the process runs."""
        return self.process.poll()

    def stop(self, now: float) -> None:
        """SIGTERM the job's process group, then SIGKILL it after :data:`STOP_GRACE`
        (``now`` is a :func:`time.monotonic` time; call again until the process ends)."""
        if self.stop_requested is None:
            self.stop_requested = now
            self._signal(signal.SIGTERM)
        elif now - self.stop_requested > STOP_GRACE:
            self._signal(signal.SIGKILL)

    def _signal(self, sig: int) -> None:
        # Not reaped yet, so the group id cannot have been reused by another process.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def record_end(self, store: JobStore, status: str, message: str) -> None:
        """Record the end of the process (unless the job recorded its own), drop its files."""
        if store.finish(self.job_id, status, error=message):
            log.warning("job %s: %s", self.job_id, message)
        store.remove_files(self.job_id)

    def exit_message(self) -> str:
        """Why the ended process did not record the job's end itself."""
        code = self.process.returncode
        if code < 0:
            return f"The job process was killed by {signal.Signals(-code).name} (see the job log)."
        return f"The job process exited with code {code} before finishing (see the job log)."
