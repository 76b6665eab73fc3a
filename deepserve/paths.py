"""Where deepserve keeps state: one data directory, with a folder per model for its own files."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_VARIABLE = "DEEPSERVE_DATA_DIR"


def data_dir() -> Path:
    """``$DEEPSERVE_DATA_DIR`` (set by ``--data-dir``), else ``$XDG_DATA_HOME/deepserve``
    (``~/.local/share/deepserve``)."""
    configured = os.environ.get(DATA_DIR_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(xdg) / "deepserve"


def model_dir(name: str) -> Path:
    """A directory a model may keep its files in (trained weights, ...), created on demand.

    It is shared by every serving process and training job of the same data directory.
    """
    path = data_dir() / "models" / name
    path.mkdir(parents=True, exist_ok=True)
    return path
