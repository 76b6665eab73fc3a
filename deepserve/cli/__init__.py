"""The ``deepserve`` command line: one module per command."""

from __future__ import annotations

import click

from .. import __version__
from .install import install
from .jobs import jobs
from .listing import list_models
from .new import new
from .openapi import openapi
from .predict import predict
from .run import run
from .train import train
from .worker import worker


@click.group()
@click.version_option(__version__, prog_name="deepserve")
def main() -> None:
    """Serve machine-learning models over a REST API."""


for command in (run, worker, list_models, predict, train, jobs, openapi, new, install):
    main.add_command(command)
