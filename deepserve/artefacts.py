"""Trained artefacts of a model: saved atomically by ``train``, picked up by serving processes.

``train`` (in a job process) calls :meth:`ArtefactStore.save`; every serving process calls
:meth:`ArtefactStore.latest` on each prediction, which costs one ``stat`` of a pointer file and
reloads only when another version was saved since. Artefacts are pickled: load only stores in a
data directory you trust.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import pickle
import secrets
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .paths import data_dir, model_dir

POINTER = "current.json"
#: The version name of the default artefact, used until one is saved.
DEFAULT_VERSION = "default"


@dataclasses.dataclass(frozen=True)
class Artefact:
    """One saved version: its name, the stored object and the information saved with it."""

    version: str
    value: Any
    info: dict


class ArtefactStore:
    """The versions of one model's trained artefact in ``model_dir(name)``.

    Each :meth:`save` writes a new file, then points ``current.json`` at it; files are written
    to a temporary name and renamed, so a reader never sees half a file. Until a version is
    saved, :meth:`current` answers with ``default()``, built once on first use.
    """

    def __init__(self, name: str, default: Callable[[], Any] | None = None) -> None:
        self.name = name
        self._build_default = default
        self._default: Artefact | None = None
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._loaded: Artefact | None = None

    def current(self) -> Artefact:
        """The newest saved version, else the default one (``LookupError`` if none)."""
        latest = self.latest()
        if latest is not None:
            return latest
        with self._lock:
            if self._default is None:
                if self._build_default is None:
                    raise LookupError(f"no artefact of {self.name!r} has been saved")
                self._default = Artefact(DEFAULT_VERSION, self._build_default(), {})
            return self._default

    def save(self, value: Any, info: dict | None = None) -> str:
        """Store ``value`` (picklable) with JSON-able ``info``; returns the new version name:
        the UTC time to the microsecond and a random suffix, so versions sort in the order
        they were saved (e.g. ``20240501T120000.123456Z-3f2a1c``)."""
        directory = model_dir(self.name)
        now = datetime.datetime.now(datetime.timezone.utc)
        version = f"{now:%Y%m%dT%H%M%S.%f}Z-{secrets.token_hex(3)}"
        filename = f"{version}.pickle"
        _write_atomically(directory / filename, pickle.dumps(value, protocol=5))
        pointer = {"version": version, "file": filename, "info": info or {}}
        _write_atomically(directory / POINTER, json.dumps(pointer).encode())
        return version

    def latest(self) -> Artefact | None:
        """The newest saved version, or ``None`` if none was saved (in this data directory)."""
        pointer = data_dir() / "models" / self.name / POINTER
        try:
            status = pointer.stat()
        except FileNotFoundError:
            return None
        stamp = (str(pointer), status.st_ino, status.st_mtime_ns, status.st_size)
        if stamp == self._stamp:
            return self._loaded
        with self._lock:
            if stamp != self._stamp:
                self._loaded = self._read(pointer)
                self._stamp = stamp
            return self._loaded

    @staticmethod
    def _read(pointer: Path) -> Artefact:
        record = json.loads(pointer.read_text())
        with open(pointer.parent / record["file"], "rb") as stored:
            value = pickle.load(stored)
        return Artefact(record["version"], value, record["info"])


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as target:
            target.write(data)
            target.flush()
            os.fsync(target.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
