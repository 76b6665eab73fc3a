"""A model's arguments as command-line options, generated from its Swagger parameters.

One generator for the offline ``deepserve predict`` (parameters built in-process from the
model's declarations, as the server builds its spec) and the remote commands (parameters read
from the server's ``/swagger.json``). Values stay text: the offline argument spec or the client
and the server convert and check them, as they do for every other entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import click

from ..client.spec import describe

ARGUMENTS = "deepserve.arguments"  # ctx.meta key: option name -> argument name
METAVARS = {"number": "FLOAT", "integer": "INTEGER", "boolean": "BOOLEAN", "file": "FILE"}


def parameter_options(parameters: Iterable[Mapping], taken: set[str]) -> dict[click.Option, str]:
    """One option per parameter, to the argument name it stands for.

    ``some_name`` is ``--some-name`` (``--some_name`` works too, see :class:`ModelCommand`); a
    name that clashes with one of the command's own options (``taken``) becomes
    ``--arg-NAME``. A list argument is repeated, a boolean may be a bare flag (``true``), a
    file takes a path.
    """
    options = {}
    for index, param in enumerate(parameters):
        name = param["name"]
        flags = [f"--{option_spelling(name)}"]
        if taken & set(flags):
            flags = [f"--arg-{option_spelling(name)}"]
        kind = param.get("type", "string")
        extra: dict[str, Any] = {}
        if kind == "boolean":  # a bare --flag is true
            extra = {"is_flag": False, "flag_value": "true"}
        option = click.Option(
            [*flags, f"model_argument_{index}"],  # never the name of the command's own ones
            multiple=kind == "array",
            metavar=_metavar(param.get("items", {}) if kind == "array" else param),
            help=describe(param),
            **extra,
        )
        options[option] = name
    return options


def option_spelling(name: str) -> str:
    """How an option name is written: ``_`` as ``-``."""
    return name.replace("_", "-")


def _metavar(param: Mapping) -> str:
    if "enum" in param:
        return "[" + "|".join(map(str, param["enum"])) + "]"
    return METAVARS.get(param.get("type", "string"), "TEXT")


class ModelCommand(click.Command):
    """A command whose first argument names a model, and whose options then include that
    model's arguments (so ``--help`` lists them too).

    ``parameters(ctx, values)`` gets the command's own option values (``--url``...) and
    returns the Swagger parameters of the model in ``values["model"]``.
    """

    def __init__(
        self, *args: Any, parameters: Callable[[click.Context, dict], list], **kwargs: Any
    ) -> None:
        kwargs.setdefault("context_settings", {}).update(
            ignore_unknown_options=True, allow_extra_args=True, token_normalize_func=option_spelling
        )
        super().__init__(*args, **kwargs)
        self.parameters = parameters

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        values = self._own_values(ctx, args)
        if values.get("model"):
            taken = {flag for param in self.params for flag in getattr(param, "opts", ())}
            options = parameter_options(self.parameters(ctx, values), taken | {"--help"})
            ctx.meta[ARGUMENTS] = options
        return super().parse_args(ctx, args)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return [*super().get_params(ctx), *ctx.meta.get(ARGUMENTS, {})]

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command's options, then the model's arguments in a section of their own."""
        own = super().get_params(ctx)
        model = list(ctx.meta.get(ARGUMENTS, {}))
        for title, params in (("Options", own), ("Arguments of the model", model)):
            records = [record for param in params if (record := param.get_help_record(ctx))]
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)

    def _own_values(self, ctx: click.Context, args: list[str]) -> dict:
        """The command's own parameters (model, --url, ...) read ahead of the others."""
        probe = click.Command(
            self.name,
            params=self.params,
            add_help_option=False,
            context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        )
        probe_ctx = probe.make_context(
            self.name, list(args), parent=ctx.parent, resilient_parsing=True
        )
        return probe_ctx.params


def model_arguments(ctx: click.Context, values: Mapping[str, Any]) -> dict[str, Any]:
    """The model's arguments given on the command line (``values``: the command's params)."""
    if ctx.args:
        raise click.UsageError(f"Unexpected argument(s): {' '.join(ctx.args)}")
    arguments = {}
    for option, name in ctx.meta.get(ARGUMENTS, {}).items():
        value = values.get(option.name)
        if value is not None and value != ():
            arguments[name] = list(value) if option.multiple else value
    return arguments
