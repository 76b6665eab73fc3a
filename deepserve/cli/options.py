"""Options shared by several commands, and the checks they share."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..batching import parse_policy
from ..jobs.maintenance import HEARTBEAT_TIMEOUT
from ..loading import GROUP, GROUPS, Inventory
from ..logs import FORMATS
from ..settings import parse_size
from ..targets import GROUP as TARGETS_GROUP
from ..targets import parse

LOG_LEVELS = ["debug", "info", "warning", "error", "critical"]


def option(name: str, *destination: str, **kwargs):
    """A click option also read from ``DEEPSERVE_<NAME>``."""
    envvar = "DEEPSERVE_" + name.lstrip("-").replace("-", "_").upper()
    return click.option(
        name, *destination, envvar=envvar, show_envvar=True, show_default=True, **kwargs
    )


class Size(click.ParamType):
    """A byte count: ``1024``, ``500M``, ``1G`` (powers of 1024)."""

    name = "size"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return parse_size(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


class BatchParam(click.ParamType):
    """``MODEL=SIZE[,WAIT_MS]``: a model's batch limits."""

    name = "batch"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            return parse_policy(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


model_option = option(
    "--model",
    "models",
    multiple=True,
    metavar="NAME",
    help="Serve only this model (repeatable; the variable takes space-separated names).",
)
deepaas_option = option(
    "--no-deepaas",
    is_flag=True,
    help="Ignore DEEPaaS models (entry points in the deepaas.v2.model group).",
)


def parse_targets(ctx: click.Context, param, values) -> list:
    """``values`` as :class:`deepserve.targets.Target` s; a bad one is a usage error."""
    try:
        return [parse(value) for value in values]
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from error


targets_argument = click.argument(
    "targets", nargs=-1, metavar="[TARGET]...", callback=parse_targets
)


log_level_option = option(
    "--log-level", default="info", type=click.Choice(LOG_LEVELS), help="Log level."
)
log_format_option = option(
    "--log-format", default="text", type=click.Choice(FORMATS), help="Log line format."
)
data_dir_option = option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where jobs and model files are kept (default: $XDG_DATA_HOME/deepserve); "
    "with Celery workers, the same shared directory everywhere.",
)


def max_jobs_option(help: str):
    """``--max-jobs``: how many jobs run at the same time, as ``help`` says."""
    return option("--max-jobs", default=1, type=click.IntRange(min=1), help=help)


database_option = option(
    "--database",
    metavar="URL",
    help="Job records: sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB "
    "(default: SQLite in the data directory).",
)
broker_option = option(
    "--broker", metavar="URL", help="Celery broker of the jobs: redis://HOST:PORT/DB."
)
heartbeat_option = option(
    "--heartbeat-timeout",
    default=HEARTBEAT_TIMEOUT,
    type=click.FloatRange(min=5),
    help="Seconds without a heartbeat from a running job's worker before the job is marked "
    "interrupted.",
)


def model_groups(no_deepaas: bool) -> tuple[str, ...]:
    """The entry-point groups to discover models in."""
    return (GROUP,) if no_deepaas else GROUPS


def require_models(inventory: Inventory, *, selected: bool) -> None:
    """Exit non-zero when a selected model (or a command-line target) is not servable, or
    nothing is.

    A rejected duplicate of a served name (the losing group of a clash) is not a failure.
    """
    failed = [r for r in inventory.failures if selected or r.group == TARGETS_GROUP]
    if failed or not inventory.served:
        for rejection in failed:
            click.echo(f"error: {rejection}", err=True)
        if not inventory.served and not failed:
            click.echo("error: no valid model is installed (see `deepserve list`)", err=True)
        sys.exit(1)
