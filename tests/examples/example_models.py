"""Helpers for the example models' tests: the installed model, its train arguments, ..."""

from __future__ import annotations

import contextlib
import importlib.metadata
from collections.abc import Iterator

from deepserve.loading import discover
from deepserve.progress import set_reporter


def installed_model(name: str):
    """A new instance of the model installed under the entry point ``name``."""
    (entry_point,) = importlib.metadata.entry_points(group="deepserve.model", name=name)
    return entry_point.load()()


def train_args(name: str, **data) -> dict:
    """``data`` loaded by the train argument schema deepserve builds for model ``name``."""
    (record,) = discover([name]).models
    return record.train_args.load(data)


def upload(path: str, name: str = "upload"):
    """A file part for the Flask test client (which closes it)."""
    return (open(path, "rb"), name)  # noqa: SIM115


@contextlib.contextmanager
def recorded_reports() -> Iterator[list[tuple]]:
    """Collect the ``(progress, metrics, message)`` that ``deepserve.report`` receives."""
    reports: list[tuple] = []
    set_reporter(lambda progress, metrics, message: reports.append((progress, metrics, message)))
    try:
        yield reports
    finally:
        set_reporter(None)
