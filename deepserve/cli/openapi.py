"""``deepserve openapi``: print the Swagger 2.0 specification."""

from __future__ import annotations

import json

import click

from ..api import create_app
from ..loading import discover
from .options import (
    deepaas_option,
    model_groups,
    model_option,
    option,
    require_models,
    targets_argument,
)


@click.command()
@targets_argument
@model_option
@deepaas_option
@option("--indent", default=2, type=click.IntRange(min=0), help="JSON indentation.")
def openapi(targets, models, no_deepaas, indent) -> None:
    """Print the Swagger 2.0 specification of the API (of the installed models, and of each
    TARGET: path/to/file.py:Class or module:attr)."""
    discovery = discover(models, model_groups(no_deepaas), targets)
    require_models(discovery.inventory(), selected=bool(models))
    app = create_app(discovery.models)
    with app.test_request_context("/"):
        spec = app.extensions["deepserve"]["api"].__schema__
    click.echo(json.dumps(spec, indent=indent or None))
