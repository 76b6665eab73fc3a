"""Throwaway virtual environments for tests that install packages as a user would."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterable
from pathlib import Path


def child_environment(path: Path, hidden: Iterable[str] = ()) -> Path:
    """A virtual environment at ``path`` that sees this one's packages (deepserve, pytest, pip)
    but installs into its own: quick, and nothing is left in the test environment. Its ``bin``
    has a ``pip`` (this environment's pip, installing into it); returns its ``python``.

    The distributions named in ``hidden`` are not seen: the child is as a plain environment
    without them, and installs them itself when something requires them."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    parent = Path(sysconfig.get_path("purelib"))
    if hidden:
        parent = _view_without(parent, set(hidden), path / "parent-view")
    Path(site, "parent-environment.pth").write_text(
        f"import site; site.addsitedir({str(parent)!r})\n"
    )
    pip = path / "bin" / "pip"
    pip.write_text(f'#!/bin/sh\nexec "{python}" -m pip "$@"\n')
    pip.chmod(0o755)
    return python


def _view_without(site: Path, hidden: set[str], view: Path) -> Path:
    """A directory of links to the entries of ``site``, less the files of the ``hidden``
    distributions (their packages, metadata and editable-install hooks, as their RECORD
    lists them)."""
    names = {_normalized(name) for name in hidden}
    left_out: set[str] = set()
    for dist in importlib.metadata.distributions(path=[str(site)]):
        if _normalized(dist.metadata["Name"]) in names:
            left_out.update(Path(str(file)).parts[0] for file in dist.files or ())
    view.mkdir()
    for entry in site.iterdir():
        if entry.name not in left_out:
            (view / entry.name).symlink_to(entry)
    return view


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
