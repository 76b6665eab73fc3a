"""Discover models through entry points and validate each one into a ModelRecord."""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Iterable

import importlib_metadata

from .arguments import DeclarationError
from .record import ModelRecord

log = logging.getLogger("deepserve")

GROUP = "deepserve.model"


@dataclasses.dataclass(frozen=True)
class Rejection:
    """An entry point that is not served, and why."""

    name: str
    target: str
    reason: str

    def __str__(self) -> str:
        return f"model '{self.name}' ({self.target}) rejected: {self.reason}"


@dataclasses.dataclass
class Discovery:
    """The outcome of loading: the models to serve and the entry points rejected."""

    models: list[ModelRecord]
    rejections: list[Rejection]


def discover(selected: Iterable[str] = (), group: str = GROUP) -> Discovery:
    """Load and validate the models of ``group`` (only the ``selected`` names, if given)."""
    wanted = list(dict.fromkeys(selected))
    entry_points = list(importlib_metadata.entry_points(group=group))
    if wanted:
        entry_points = [ep for ep in entry_points if ep.name in wanted]
    models: dict[str, ModelRecord] = {}
    rejections: list[Rejection] = []
    for entry_point in entry_points:
        outcome = _load(entry_point, taken=models)
        if isinstance(outcome, Rejection):
            log.error("%s", outcome)
            rejections.append(outcome)
        else:
            models[outcome.name] = outcome
    found = {ep.name for ep in entry_points}
    for name in wanted:
        if name not in found:
            rejections.append(Rejection(name, group, "no such entry point is installed"))
    return Discovery(list(models.values()), rejections)


def _load(entry_point, taken: dict[str, ModelRecord]) -> ModelRecord | Rejection:
    def reject(reason: str) -> Rejection:
        return Rejection(entry_point.name, entry_point.value, reason)

    if entry_point.name in taken:
        return reject("another installed distribution already declares this name")
    try:
        target = entry_point.load()
    except Exception as error:  # a model's import may fail in any way
        return reject(f"import failed: {type(error).__name__}: {error}")
    if inspect.isclass(target):
        try:
            target = target()
        except Exception as error:
            return reject(
                f"instantiating {target.__name__} failed: {type(error).__name__}: {error}"
            )
    try:
        return ModelRecord(entry_point.name, target, target=entry_point.value)
    except DeclarationError as error:
        return reject(str(error))
    except Exception as error:  # the model's own getters raised
        return reject(f"{type(error).__name__}: {error}")
