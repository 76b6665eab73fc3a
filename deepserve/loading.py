"""Discover models through entry points and validate each one into a ModelRecord."""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Iterable, Sequence

import importlib_metadata

from . import deepaas
from .arguments import DeclarationError
from .record import ModelRecord

log = logging.getLogger("deepserve")

GROUP = "deepserve.model"
#: The groups searched by default; on a name clash, the earlier group's entry point wins.
GROUPS = (GROUP, deepaas.GROUP)


@dataclasses.dataclass(frozen=True)
class Rejection:
    """An entry point that is not served, and why."""

    name: str
    target: str
    reason: str
    group: str = GROUP

    def __str__(self) -> str:
        where = f"{self.group}: {self.target}" if self.target else self.group
        return f"model '{self.name}' ({where}) rejected: {self.reason}"


@dataclasses.dataclass
class Discovery:
    """The outcome of loading: the models to serve and the entry points rejected."""

    models: list[ModelRecord]
    rejections: list[Rejection]

    @property
    def failures(self) -> list[Rejection]:
        """The rejections that leave a name unserved (not the losing side of a name clash)."""
        served = {record.name for record in self.models}
        return [rejection for rejection in self.rejections if rejection.name not in served]


def discover(selected: Iterable[str] = (), groups: Sequence[str] = GROUPS) -> Discovery:
    """Load and validate the models of ``groups`` (only the ``selected`` names, if given)."""
    wanted = list(dict.fromkeys(selected))
    entry_points = [ep for group in groups for ep in importlib_metadata.entry_points(group=group)]
    if wanted:
        entry_points = [ep for ep in entry_points if ep.name in wanted]
    models: dict[str, ModelRecord] = {}
    rejections: list[Rejection] = []
    owners: dict[str, str] = {}  # name -> the group that has it
    for entry_point in entry_points:
        owner = owners.setdefault(entry_point.name, entry_point.group)
        if owner != entry_point.group:
            outcome = _rejection(entry_point, f"the {owner} entry point of this name wins")
        else:
            outcome = _load(entry_point, taken=models)
        if isinstance(outcome, Rejection):
            log.error("%s", outcome)
            rejections.append(outcome)
        else:
            models[outcome.name] = outcome
    for name in wanted:
        if name not in owners:
            reason = "no such entry point is installed"
            rejections.append(Rejection(name, "", reason, group=" or ".join(groups)))
    return Discovery(list(models.values()), rejections)


def _rejection(entry_point, reason: str) -> Rejection:
    return Rejection(entry_point.name, entry_point.value, reason, group=entry_point.group)


def _load(entry_point, taken: dict[str, ModelRecord]) -> ModelRecord | Rejection:
    if entry_point.name in taken:
        return _rejection(entry_point, "another installed distribution already declares this name")
    if entry_point.group != deepaas.GROUP:
        return _load_model(entry_point)
    with deepaas.legacy_fields_logged(entry_point.name):
        return _load_model(entry_point, adapt=deepaas.adapt)


def _load_model(entry_point, adapt=None) -> ModelRecord | Rejection:
    def reject(reason: str, error: Exception) -> Rejection:
        return _rejection(entry_point, reason + deepaas.legacy_hint(error))

    try:
        target = entry_point.load()
    except Exception as error:  # a model's import may fail in any way
        return reject(f"import failed: {type(error).__name__}: {error}", error)
    if inspect.isclass(target):
        try:
            target = target()
        except Exception as error:
            return reject(
                f"instantiating {target.__name__} failed: {type(error).__name__}: {error}", error
            )
    try:
        model = adapt(target, entry_point.name) if adapt else target
        return ModelRecord(
            entry_point.name, model, target=entry_point.value, group=entry_point.group
        )
    except DeclarationError as error:
        return reject(str(error), error)
    except Exception as error:  # the model's own getters raised
        return reject(f"{type(error).__name__}: {error}", error)
