"""Training jobs seen from the client: refresh, wait (with a progress bar), cancel, logs."""

from __future__ import annotations

import shutil
import sys
import time
from typing import IO, Any

from .errors import ClientError
from .transport import Transport

ACTIVE = frozenset({"queued", "running"})


class Job:
    """A training job of a served model; ``document`` is the server's last answer about it."""

    def __init__(self, transport: Transport, document: dict) -> None:
        self._transport = transport
        self.document = document

    @property
    def id(self) -> str:
        return self.document["id"]

    @property
    def model(self) -> str:
        return self.document["model"]

    @property
    def status(self) -> str:
        """``queued``, ``running``, ``done``, ``error``, ``cancelled`` or ``interrupted``."""
        return self.document["status"]

    @property
    def progress(self) -> float | None:
        """The fraction done (0 to 1) last reported by the model, if any."""
        return self.document.get("progress")

    @property
    def result(self) -> Any:
        """What ``train`` returned (done jobs)."""
        return self.document.get("result")

    @property
    def done(self) -> bool:
        """Whether the job has ended (in any status)."""
        return self.status not in ACTIVE

    @property
    def path(self) -> str:
        return f"/v2/models/{self.model}/train/{self.id}"

    def refresh(self) -> Job:
        """Read the job's current state from the server."""
        self.document = self._transport.json("GET", self.path)
        return self

    def cancel(self) -> Job:
        """Cancel the job if it is queued or running (a finished job's record is removed)."""
        self.document = self._transport.json("DELETE", self.path)
        return self

    def logs(self, tail: int | None = None) -> str:
        """What the job wrote to stdout and stderr (its last ``tail`` lines)."""
        params = {"tail": tail} if tail is not None else None
        return self._transport.request("GET", self.path + "/log", params=params).text

    def wait(
        self,
        timeout: float | None = None,
        *,
        progress: bool = False,
        interval: float = 0.5,
        stream: IO[str] | None = None,
    ) -> Any:
        """Wait until the job ends and return its result.

        With ``progress``, a progress bar is drawn on ``stream`` (stderr) when it is a
        terminal. Raises ClientError when the job ends in another status than ``done``, or
        is still running after ``timeout`` seconds.
        """
        stream = stream or sys.stderr
        bar = ProgressBar(stream) if progress and stream.isatty() else None
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.refresh().done:
            if bar:
                bar.draw(self.progress, self.status, self.document.get("message"))
            if deadline is not None and time.monotonic() > deadline:
                raise ClientError(f"Job {self.id} still {self.status} after {timeout}s.")
            time.sleep(interval)
        if bar:
            fraction = self.progress if self.status != "done" else 1.0
            bar.finish(fraction, self.status, self.document.get("message"))
        if self.status != "done":
            reason = self.document.get("error") or self.document.get("message") or ""
            raise ClientError(
                f"Job {self.id} ended {self.status}" + (f": {reason}" if reason else "."),
                body=self.document,
            )
        return self.result

    def __repr__(self) -> str:
        return f"Job({self.model!r}, {self.id!r}, status={self.status!r})"


class ProgressBar:
    """A one-line progress bar redrawn in place on a terminal: the job's progress, status and
    message (why a queued job waits, what a running one does), cut to the terminal's width."""

    def __init__(self, stream: IO[str], width: int = 30) -> None:
        self.stream = stream
        self.width = width

    def draw(self, fraction: float | None, status: str, message: str | None = None) -> None:
        said = f"{status}: {message}" if message else status
        if fraction is None:
            line = f"[{'?' * self.width}]  --%  {said}"
        else:
            filled = round(max(0.0, min(1.0, fraction)) * self.width)
            line = f"[{'#' * filled}{'.' * (self.width - filled)}] {fraction:4.0%}  {said}"
        columns = shutil.get_terminal_size().columns - 1  # a full line would wrap
        self.stream.write(f"\r{line[:columns]:<{columns}}")
        self.stream.flush()

    def finish(self, fraction: float | None, status: str, message: str | None = None) -> None:
        self.draw(fraction, status, message)
        self.stream.write("\n")
        self.stream.flush()
