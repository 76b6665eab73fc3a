"""What ``deepserve run --reload`` watches: the models' source files, found without importing
them; and how (:class:`Reloader`, with watchfiles).

gunicorn's reloader watches the modules a worker imported; these files are added so that a
model whose import failed (and so is not among them) is reloaded once it is fixed.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import gunicorn.reloader
import importlib_metadata
import watchfiles

from .targets import Target


def model_files(
    selected: Iterable[str], groups: Sequence[str], targets: Sequence[Target]
) -> list[str]:
    """The Python files of the ``targets`` (their directories') and of the top-level packages
    of the entry points of ``groups`` (the ``selected`` ones, if any)."""
    wanted = set(selected)
    modules = [
        entry_point.module
        for group in groups
        for entry_point in importlib_metadata.entry_points(group=group)
        if not wanted or entry_point.name in wanted
    ]
    files: set[str] = set()
    for target in targets:
        directory = target.directory
        files.update(_neighbours(directory) if directory else _package_sources(target.module))
    for module in dict.fromkeys(modules):
        files.update(_package_sources(module))
    return sorted(files)


def _neighbours(directory: str) -> list[str]:
    """The Python files of a file target's directory: the file and its neighbours."""
    return glob.glob(str(Path(glob.escape(directory), "*.py")))


def _package_sources(module: str) -> list[str]:
    """Every Python file of the top-level package (or the module file) holding ``module``."""
    try:
        spec = importlib.util.find_spec(module.partition(".")[0])
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return [
            path
            for location in spec.submodule_search_locations
            for path in glob.glob(str(Path(glob.escape(location), "**", "*.py")), recursive=True)
        ]
    return [spec.origin] if spec.origin and spec.origin.endswith(".py") else []


class Reloader(gunicorn.reloader.ReloaderBase):
    """gunicorn's reloader, told of changes by the operating system (watchfiles: inotify on
    Linux, FSEvents on macOS) instead of polling every file each second.

    It watches what gunicorn's watches (the files of every module the worker imported, and the
    extra files: the models' sources), and calls gunicorn's callback, which restarts the worker.
    The files' times are noted before the worker serves, and looked at once more when the
    watch has begun: a file saved in between (a model edited right after a reload) counts.
    """

    def __init__(self, gunicorns: gunicorn.reloader.ReloaderBase) -> None:
        super().__init__(callback=gunicorns._callback)
        self._extra_files = gunicorns._extra_files
        self._extra_patterns = gunicorns._extra_patterns
        self._times: dict[str, float] = {}
        self._stopping = threading.Event()

    def start(self) -> None:
        self._times = {p: time for p in self._watched() if (time := _mtime(p)) is not None}
        super().start()

    def stop(self) -> None:
        """End the watch (the worker exits anyway; for tests)."""
        self._stopping.set()

    def run(self) -> None:
        files = set(self._times)
        directories = {os.path.dirname(path) for path in files}
        changes = watchfiles.watch(
            *directories,
            watch_filter=lambda _change, path: path in files,
            recursive=False,
            yield_on_timeout=True,  # at once, so that the first look below is soon
            rust_timeout=WATCH_STARTED_MS,
            stop_event=self._stopping,
            raise_interrupt=False,
            ignore_permission_denied=True,
        )
        changed = None
        for number, batch in enumerate(changes):
            changed = min((path for _change, path in batch), default=None)
            if changed is None and number == 0:
                changed = self._changed_since_start()
            if changed is not None:
                break
        if changed is not None and self._callback:
            self._callback(changed)

    def _watched(self) -> set[str]:
        return {os.path.abspath(path) for path in self.get_files() if os.path.isfile(path)}

    def _changed_since_start(self) -> str | None:
        return next((p for p, time in self._times.items() if _mtime(p) not in (time, None)), None)


# The watch is surely running after this long without a change (the first look then happens).
WATCH_STARTED_MS = 200


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None
