"""Models named on the command line: ``path/to/file.py:Class`` or ``package.module:attr``.

A target is served like an entry point (same loading, validation and rejections) without
packaging anything: the development mode of ``deepserve run``, ``list`` and ``predict``.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import importlib_metadata

#: The group shown for command-line targets in listings and messages.
GROUP = "command line"
#: Where ``deepserve run`` leaves its targets for the processes it starts (training jobs).
VARIABLE = "DEEPSERVE_SERVED_TARGETS"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def is_target(text: str) -> bool:
    """Whether ``text`` names a target rather than an installed model's name."""
    spec = text.split("=", 1)[-1]
    return ":" in spec or spec.endswith(".py")


@dataclasses.dataclass(frozen=True)
class Target:
    """One ``[NAME=]TARGET``, loaded like an entry point (``name``, ``value``, ``group``,
    ``load()``)."""

    name: str
    value: str  # the target (a file's path made absolute), for messages
    module: str
    attr: str
    directory: str | None  # a file target's directory, put on sys.path to import it
    group: str = GROUP

    @property
    def text(self) -> str:
        """``NAME=TARGET``: what :func:`parse` turns back into this target."""
        return f"{self.name}={self.value}"

    @property
    def file(self) -> Path | None:
        """The Python file of a file target."""
        return Path(self.directory, self.module + ".py") if self.directory else None

    def load(self) -> Any:
        """Import the module (from its file, for a file target) and return the attribute."""
        if self.directory is not None:
            self._import_file()
        entry_point = importlib_metadata.EntryPoint(
            self.name, f"{self.module}:{self.attr}" if self.attr else self.module, self.group
        )
        return entry_point.load()

    def _import_file(self) -> None:
        if not self.file.is_file():
            raise FileNotFoundError(f"no such file: {self.file}")
        added = self.directory not in sys.path
        if added:
            sys.path.insert(0, self.directory)  # so that the file imports its neighbours
        try:
            module = importlib.import_module(self.module)
            found = Path(getattr(module, "__file__", None) or "")
            if found.resolve() != self.file:
                raise ImportError(
                    f"module '{self.module}' is {found}, not {self.file}: rename the file"
                )
        except BaseException:
            if added:  # a refused file must not shadow what this process imports later
                sys.path.remove(self.directory)
            raise


def parse(text: str) -> Target:
    """``[NAME=]path/to/file.py[:attr]`` or ``[NAME=]module:attr`` as a :class:`Target`.

    The model's name is ``NAME``, else the attribute's name in lower case, else the file's stem.
    Raises ``ValueError`` for text that is not a target.
    """
    if not is_target(text):
        raise ValueError(
            f"'{text}' is not a model target: use path/to/file.py:Class or module:attr"
        )
    name, has_name, spec = text.partition("=")  # a name has no "=", a path may
    if not has_name:
        name, spec = "", text
    location, _, attr = spec.partition(":") if not spec.endswith(".py") else (spec, "", "")
    if location.endswith(".py"):
        path = Path(location).expanduser().resolve()
        module, directory = path.stem, str(path.parent)
    else:
        module, directory = location, None
    if not all(part.isidentifier() for part in module.split(".")):
        raise ValueError(
            f"'{text}': '{module}' is not an importable module name (for a file: "
            "letters, digits and '_', e.g. my_model.py)"
        )
    if attr and not attr.isidentifier():
        raise ValueError(f"'{text}': '{attr}' is not a Python name")
    if not has_name:
        name = attr.lower() if attr else module.rpartition(".")[2]
    if not _NAME.match(name):
        raise ValueError(f"'{text}': the name '{name}' is not URL-safe (letters, digits, '_.-')")
    value = f"{directory}/{module}.py" if directory else module
    return Target(name, value + (f":{attr}" if attr else ""), module, attr, directory)


def export(targets: list[Target]) -> None:
    """Make ``targets`` known to the processes this one starts (see :func:`from_environment`)."""
    os.environ[VARIABLE] = json.dumps([target.text for target in targets])


def from_environment() -> list[Target]:
    """The targets of the ``deepserve run`` that started this process."""
    return [parse(text) for text in json.loads(os.environ.get(VARIABLE) or "[]")]
