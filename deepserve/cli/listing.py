"""``deepserve list``: every installed model entry point and whether it can be served, or
(``--url``) the models a server serves."""

from __future__ import annotations

import json
import sys
import textwrap

import click

from ..client import Client, ClientError
from ..loading import discover
from . import remote
from .options import deepaas_option, model_groups, option, targets_argument

model_option = option(
    "--model",
    "models",
    multiple=True,
    metavar="NAME",
    help="List only this installed model (repeatable; the variable takes space-separated names).",
)


@click.command(name="list")
@targets_argument
@model_option
@option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@option("--verbose", "-v", is_flag=True, help="Show the traceback of each model that failed.")
@deepaas_option
@remote.url_option
@remote.token_option
@click.pass_context
def list_models(
    ctx, targets, models, as_json: bool, verbose: bool, no_deepaas: bool, url, token
) -> None:
    """List every installed model (or those named by --model), or each TARGET
    (path/to/file.py:Class or module:attr) and the --model ones, and whether it can be served;
    with --url, the models that server serves.

    Exits with status 1 when a model is rejected or missing, so that it can gate a CI step.
    """
    if url:
        _list_remote(remote.client(ctx, url, token), as_json)
        return
    groups = model_groups(no_deepaas) if models or not targets else ()
    discovery = discover(models, groups, targets)
    rows = [(r.name, "ok", r.target, r.group, "") for r in discovery.models]
    rows += [
        (
            r.name,
            f"rejected: {r.reason}" + (f" ({r.hint})" if r.hint else ""),
            r.target,
            r.group,
            r.traceback,
        )
        for r in discovery.rejections
    ]
    rows.sort()
    if as_json:
        keys = ("name", "status", "target", "group", "traceback")
        documents = [dict(zip(keys, row, strict=True)) for row in rows]
        if not verbose:
            documents = [{k: v for k, v in row.items() if k != "traceback"} for row in documents]
        click.echo(json.dumps(documents))
    else:
        width = max([len(row[0]) for row in rows] + [4])
        click.echo(f"{'NAME':<{width}}  STATUS")
        for name, status, target, group, trace in rows:
            click.echo(f"{name:<{width}}  {status}  [{group}: {target}]")
            if verbose and trace:
                click.echo(textwrap.indent(trace.rstrip("\n"), " " * (width + 4)))
    if discovery.failures:
        sys.exit(1)


def _list_remote(client: Client, as_json: bool) -> None:
    """The models a server serves: ``NAME  DESCRIPTION``, or its model list as JSON."""
    try:
        documents = client.models()
    except ClientError as error:
        remote.fail(error)
    if as_json:
        click.echo(json.dumps(documents))
        return
    rows = sorted((m["id"], m.get("description", "").split("\n")[0]) for m in documents)
    width = max([len(name) for name, _ in rows] + [4])
    click.echo(f"{'NAME':<{width}}  DESCRIPTION")
    for name, description in rows:
        click.echo(f"{name:<{width}}  {description}")
