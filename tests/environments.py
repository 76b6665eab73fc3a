"""Throwaway virtual environments for tests that install packages as a user would."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path


def child_environment(path: Path) -> Path:
    """A virtual environment at ``path`` that sees this one's packages (deepserve, pytest, pip)
    but installs into its own: quick, and nothing is left in the test environment. Its ``bin``
    has a ``pip`` (this environment's pip, installing into it); returns its ``python``."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    parent = sysconfig.get_path("purelib")
    Path(site, "parent-environment.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    pip = path / "bin" / "pip"
    pip.write_text(f'#!/bin/sh\nexec "{python}" -m pip "$@"\n')
    pip.chmod(0o755)
    return python
