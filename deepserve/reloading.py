"""What ``deepserve run --reload`` watches: the models' source files, found without importing
them; and how (:class:`Reloader`).

gunicorn's reloader watches the modules a worker imported; these files are added so that a
model whose import failed (and so is not among them) is reloaded once it is fixed.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import gunicorn.reloader
import importlib_metadata

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


class Reloader(gunicorn.reloader.Reloader):
    """gunicorn's polling reloader, knowing the files' times before the worker serves.

    gunicorn's notes them in its thread, while the worker already answers: a file saved in that
    moment (a model edited right after a reload) was taken as the original and never reloaded.
    """

    def __init__(self, polling: gunicorn.reloader.Reloader) -> None:
        super().__init__(callback=polling._callback, interval=polling._interval)
        self._extra_files = polling._extra_files
        self._extra_patterns = polling._extra_patterns
        self._times: dict[str, float] = {}

    def start(self) -> None:
        self._changed()  # notes every file's time, in the worker's thread
        super().start()

    def run(self) -> None:
        while True:
            time.sleep(self._interval)
            changed = self._changed()
            if changed and self._callback:
                self._callback(changed)

    def _changed(self) -> str | None:
        """The first file modified since it was last looked at (its time noted if new)."""
        for filename in self.get_files():
            try:
                modified = os.stat(filename).st_mtime
            except OSError:
                continue
            if modified > self._times.setdefault(filename, modified):
                return filename
        return None
