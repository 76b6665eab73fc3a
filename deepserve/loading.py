"""Discover models through entry points and validate each one into a ModelRecord."""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import logging.config
import os
import subprocess
import sys
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path

import importlib_metadata

from . import deepaas
from .arguments import DeclarationError
from .record import ModelRecord
from .suggestions import unknown_name_hint
from .targets import GROUP as TARGETS_GROUP
from .targets import Target, parse

log = logging.getLogger("deepserve")

GROUP = "deepserve.model"
#: The groups searched by default; on a name clash, the earlier group's entry point wins.
GROUPS = (GROUP, deepaas.GROUP)


@dataclasses.dataclass(frozen=True)
class Rejection:
    """An entry point (or command-line target) that is not served, and why.

    ``traceback`` is the model's own part of the traceback of the exception that rejected it
    (empty for a declaration error); ``hint`` tells what to do about a name that matched nothing.
    """

    name: str
    target: str
    reason: str
    group: str = GROUP
    traceback: str = ""
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.group}: {self.target}" if self.target else self.group
        hint = f" ({self.hint})" if self.hint else ""
        return f"model '{self.name}' ({where}) rejected: {self.reason}{hint}"


@dataclasses.dataclass(frozen=True)
class Inventory:
    """What a discovery found, by name: it can leave the process that loaded the models."""

    served: tuple[str, ...]
    trainable: tuple[str, ...]
    rejections: tuple[Rejection, ...]

    @property
    def failures(self) -> list[Rejection]:
        """The rejections that leave a name unserved (not the losing side of a name clash)."""
        return [rejection for rejection in self.rejections if rejection.name not in self.served]


@dataclasses.dataclass
class Discovery:
    """The outcome of loading: the models to serve and the entry points rejected."""

    models: list[ModelRecord]
    rejections: list[Rejection]

    def inventory(self) -> Inventory:
        return Inventory(
            tuple(record.name for record in self.models),
            tuple(record.name for record in self.models if record.train_args is not None),
            tuple(self.rejections),
        )

    @property
    def failures(self) -> list[Rejection]:
        """The rejections that leave a name unserved (not the losing side of a name clash)."""
        return self.inventory().failures


def discover(
    selected: Iterable[str] = (),
    groups: Sequence[str] = GROUPS,
    targets: Sequence[Target] = (),
) -> Discovery:
    """Load and validate the command-line ``targets`` and the entry points of ``groups`` (only
    the ``selected`` names, if given). A target wins a name clash, then the earlier group."""
    wanted = list(dict.fromkeys(selected))
    installed = [ep for group in groups for ep in importlib_metadata.entry_points(group=group)]
    entry_points = [ep for ep in installed if not wanted or ep.name in wanted]
    models: dict[str, ModelRecord] = {}
    rejections: list[Rejection] = []
    owners: dict[str, str] = {}  # name -> the group that has it
    for entry_point in [*targets, *entry_points]:
        owner = owners.setdefault(entry_point.name, entry_point.group)
        if owner != entry_point.group:
            outcome = _rejection(entry_point, _clash(owner))
        else:
            outcome = _load(entry_point, taken=models)
        if isinstance(outcome, Rejection):
            log.error("%s", outcome)
            if outcome.traceback:
                log.debug("model '%s' failed to load:\n%s", outcome.name, outcome.traceback)
            rejections.append(outcome)
        else:
            models[outcome.name] = outcome
    known = [ep.name for ep in installed] + [target.name for target in targets]
    for name in wanted:
        if name not in owners:
            hint = unknown_name_hint(name, known, "installed models")
            reason = "no such entry point is installed"
            rejections.append(Rejection(name, "", reason, " or ".join(groups), hint=hint))
    return Discovery(list(models.values()), rejections)


def _clash(owner: str) -> str:
    if owner == TARGETS_GROUP:
        return "a model of this name given on the command line wins"
    return f"the {owner} entry point of this name wins"


def _rejection(entry_point, reason: str, error: BaseException | None = None) -> Rejection:
    return Rejection(
        entry_point.name,
        entry_point.value,
        reason,
        group=entry_point.group,
        traceback=model_traceback(error) if error is not None else "",
    )


def _load(entry_point, taken: dict[str, ModelRecord]) -> ModelRecord | Rejection:
    if entry_point.name in taken:
        return _rejection(entry_point, "another installed distribution already declares this name")
    if entry_point.group != deepaas.GROUP:
        return _load_model(entry_point)
    with deepaas.legacy_fields_logged(entry_point.name):
        return _load_model(entry_point, adapt=deepaas.adapt)


def _load_model(entry_point, adapt=None) -> ModelRecord | Rejection:
    def reject(reason: str, error: Exception, traced: bool = True) -> Rejection:
        reason += deepaas.load_hint(error)
        return _rejection(entry_point, reason, error if traced else None)

    try:
        target = entry_point.load()
    except Exception as error:  # a model's import may fail in any way
        return reject(f"import failed: {type(error).__name__}: {error}{_where(error)}", error)
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
        return reject(str(error), error, traced=False)
    except Exception as error:  # the model's own getters raised
        return reject(f"{type(error).__name__}: {error}", error)


#: Frames in these directories are deepserve's or the import machinery's, not the model's
#: (with the separator: ``site-packages/deepserve_iris`` is a model's).
_MACHINERY = tuple(
    os.path.join(directory, "")
    for directory in (
        Path(sys.modules[__package__].__file__).parent,
        Path(importlib_metadata.__file__).parent,
        Path(traceback.__file__).parent / "importlib",
    )
)


def _model_frames(error: BaseException) -> traceback.StackSummary:
    frames = traceback.extract_tb(error.__traceback__)
    return traceback.StackSummary.from_list(
        [f for f in frames if not f.filename.startswith(("<frozen", *_MACHINERY))]
    )


def model_traceback(error: BaseException) -> str:
    """The traceback of ``error`` without deepserve's and the import machinery's frames."""
    exception = traceback.TracebackException.from_exception(error)
    exception.stack = _model_frames(error)
    return "".join(exception.format())


def _where(error: BaseException) -> str:
    """`` (file, line N)``: where in the model's code ``error`` was raised (a SyntaxError
    says so itself)."""
    frames = _model_frames(error)
    if isinstance(error, SyntaxError) or not frames:
        return ""
    return f" ({frames[-1].filename}, line {frames[-1].lineno})"


def inventory_elsewhere(
    selected: Iterable[str],
    groups: Sequence[str],
    log_format: str,
    log_level: str,
    targets: Sequence[Target] = (),
) -> Inventory:
    """:func:`discover` in a new interpreter (logging in ``log_format`` at ``log_level``), and
    what it found.

    The calling process never imports the models: a server whose workers load their own after
    the fork checks them first this way.
    """
    request = {
        "selected": list(selected),
        "groups": list(groups),
        "targets": [target.text for target in targets],
        "log": [log_format, log_level],
    }
    code = "from deepserve.loading import _print_inventory; _print_inventory()"
    output = subprocess.run(
        [sys.executable, "-c", code, json.dumps(request)],
        stdout=subprocess.PIPE,  # the log goes to our stderr
        check=True,
        text=True,
    ).stdout
    found = json.loads(output)
    return Inventory(
        tuple(found["served"]),
        tuple(found["trainable"]),
        tuple(Rejection(**rejection) for rejection in found["rejections"]),
    )


def _print_inventory() -> None:
    """The other side of :func:`inventory_elsewhere`."""
    from .logs import logging_config

    result = os.fdopen(os.dup(1), "w")  # for the answer; what models print goes to the log
    os.dup2(2, 1)
    request = json.loads(sys.argv[1])
    logging.config.dictConfig(logging_config(*request["log"]))
    found = [parse(text) for text in request["targets"]]
    inventory = discover(request["selected"], request["groups"], found).inventory()
    with result:
        json.dump(dataclasses.asdict(inventory), result)
