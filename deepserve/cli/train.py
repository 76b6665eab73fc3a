"""``deepserve train --url URL MODEL --ARG VALUE ...``: start a training job on a server."""

from __future__ import annotations

import click

from ..client import ClientError
from . import remote
from .arguments import ModelCommand, model_arguments


def _parameters(ctx: click.Context, values: dict) -> list[dict]:
    if not values.get("url"):
        raise click.UsageError("Missing option '--url' (or DEEPSERVE_URL): training is remote.")
    return remote.model_parameters(ctx, values, "train")


@click.command(cls=ModelCommand, parameters=_parameters)
@click.argument("model")
@click.option("--wait", is_flag=True, help="Wait for the job to end (progress bar on a terminal).")
@remote.url_option
@remote.token_option
@click.pass_context
def train(ctx, model, wait, url, token, **values):
    """Start a training job of MODEL on the server at --url; print the job.

    `deepserve train --url URL MODEL --help` lists the model's train arguments. With --wait,
    prints the finished job and exits 1 unless it is done.
    """
    arguments = model_arguments(ctx, values)
    try:
        job = remote.client(ctx, url, token).train(model, **arguments)
        if wait:
            job.wait(progress=True)
    except ClientError as error:
        remote.fail(error)
    remote.echo_json(job.document)
