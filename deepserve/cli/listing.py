"""``deepserve list``: every installed model entry point and whether it can be served."""

from __future__ import annotations

import json

import click

from ..loading import discover
from .options import deepaas_option, model_groups, option


@click.command(name="list")
@option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@deepaas_option
def list_models(as_json: bool, no_deepaas: bool) -> None:
    """List every installed model entry point and whether it can be served."""
    discovery = discover(groups=model_groups(no_deepaas))
    rows = [(r.name, "ok", r.target, r.group) for r in discovery.models]
    rows += [(r.name, f"rejected: {r.reason}", r.target, r.group) for r in discovery.rejections]
    rows.sort()
    if as_json:
        keys = ("name", "status", "target", "group")
        click.echo(json.dumps([dict(zip(keys, row, strict=True)) for row in rows]))
        return
    width = max([len(row[0]) for row in rows] + [4])
    click.echo(f"{'NAME':<{width}}  STATUS")
    for name, status, target, group in rows:
        click.echo(f"{name:<{width}}  {status}  [{group}: {target}]")
