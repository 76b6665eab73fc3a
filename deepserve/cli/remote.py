"""What the remote commands share: ``--url``, ``--token``, the client, errors, outputs."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click

from ..client import Client, ClientError
from .options import option

url_option = option(
    "--url",
    metavar="URL",
    help="Call the deepserve server at this URL (with its base path) instead of running locally.",
)
token_option = option(
    "--token",
    metavar="TOKEN",
    help="Bearer token for a server that requires one (with --url).",
)


def client(ctx: click.Context, url: str, token: str | None) -> Client:
    """The client of ``url``, made once per command (its spec is read on creation)."""
    if "deepserve.client" not in ctx.meta:
        try:
            ctx.meta["deepserve.client"] = Client(url, token)
        except ClientError as error:
            fail(error)
    return ctx.meta["deepserve.client"]


def model_parameters(ctx: click.Context, values: dict, method: str) -> list[dict]:
    """The Swagger parameters of ``method`` of the model ``values["model"]`` on the server at
    ``values["url"]``; exits 1 when the server does not serve it."""
    model = values["model"]
    remote = client(ctx, values["url"], values["token"])
    try:
        operations = remote.operations_of(model)
    except ClientError as error:
        fail(error, code=1)  # as the offline command: an unknown model is not a bad argument
    operation = getattr(operations, method)
    if operation is None:
        fail(ClientError(f"Model '{model}' does not implement {method}."))
    return list(operation.parameters)


def fail(error: ClientError, code: int | None = None) -> NoReturn:
    """Print the error's JSON body on stderr and exit with ``code``, by default 2 for the
    caller's errors (4xx, invalid arguments) and 1 for everything else."""
    click.echo(json.dumps(error.body), err=True)
    caller = (error.status is not None and error.status < 500) or bool(error.errors)
    sys.exit(code if code is not None else 2 if caller else 1)


def echo_json(document: Any) -> None:
    """Print ``document`` as indented JSON."""
    click.echo(json.dumps(document, indent=2))


def write(data: bytes, path: str | None) -> None:
    """Write ``data`` to ``path``, or to stdout."""
    if path is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    with open(path, "wb") as target:
        target.write(data)
