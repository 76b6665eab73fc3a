"""Optional dependencies: imported only where used, with an error that names the extra."""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtra(RuntimeError):
    """An optional dependency is not installed."""


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module``; if it is missing, say which ``deepserve[extra]`` installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingExtra(
            f"{feature} needs the '{extra}' extra: pip install 'deepserve[{extra}]' ({error})"
        ) from error
