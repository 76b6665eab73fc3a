"""``deepserve worker``: a Celery worker running the queued jobs (training, asynchronous
predictions)."""

from __future__ import annotations

import logging.config

import click

from ..extras import MissingExtra
from ..jobs.store import KINDS
from ..loading import discover
from ..logs import logging_config
from .jobsetup import initialise, job_environment, job_store
from .options import (
    broker_option,
    data_dir_option,
    database_option,
    deepaas_option,
    heartbeat_option,
    log_format_option,
    log_level_option,
    max_jobs_option,
    model_groups,
    option,
    require_models,
)


@click.command()
@option(
    "--model",
    "models",
    multiple=True,
    metavar="NAME",
    help="Run only this model's jobs, from its queues deepserve.NAME and "
    "deepserve.NAME.predictions (repeatable; the variable takes space-separated names). "
    "Default: every installed model.",
)
@option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(KINDS),
    help="Run only the jobs of this kind: train (trainings, from the queues deepserve.NAME) or "
    "predict (asynchronous predictions, from deepserve.NAME.predictions); repeatable. A worker "
    "of its own for predict keeps them from waiting behind long trainings. Default: both.",
)
@deepaas_option
@broker_option
@database_option
@data_dir_option
@max_jobs_option(
    "Jobs (trainings and asynchronous predictions alike) that run at the same time on this "
    "worker; the others wait, queued."
)
@heartbeat_option
@log_level_option
@log_format_option
def worker(
    models,
    kinds,
    no_deepaas,
    broker,
    database,
    data_dir,
    max_jobs,
    heartbeat_timeout,
    log_level,
    log_format,
) -> None:
    """Run the jobs queued by `deepserve run --jobs celery` (a Celery worker): trainings and
    asynchronous predictions."""
    logging.config.dictConfig(logging_config(log_format, log_level))
    if not broker:
        raise click.UsageError("Missing option '--broker' (or DEEPSERVE_BROKER).")
    job_environment(data_dir, database)
    inventory = discover(models, model_groups(no_deepaas)).inventory()
    require_models(inventory, selected=bool(models))
    try:
        from ..jobs.celery_backend import Worker

        store = job_store(database)
        worker = Worker(
            store, broker, list(inventory.served), max_jobs=max_jobs, kinds=kinds or KINDS,
            heartbeat_timeout=heartbeat_timeout, log_level=log_level,
        )  # fmt: skip
    except (ValueError, MissingExtra) as error:
        raise click.ClickException(str(error)) from error
    initialise(store)
    worker.run()
