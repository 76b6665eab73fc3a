"""``deepserve run``: serve the installed models with gunicorn."""

from __future__ import annotations

import dataclasses
import functools
import logging.config

import click
import flask

from ..api import create_app
from ..batching import BatchPolicy
from ..extras import MissingExtra
from ..jobs.backend import JobBackend
from ..jobs.backends import BACKENDS, open_backend
from ..jobs.slots import MAX_ASYNC_PREDICTIONS
from ..loading import Inventory, discover, inventory_elsewhere
from ..logs import logging_config
from ..metrics import multiprocess_directory
from ..record import ModelRecord
from ..reloading import model_files
from ..rundir import server_directory
from ..server import Server, gunicorn_options
from ..settings import Settings, read_tokens
from ..targets import Target, export
from ..worker import ConnectionLimits
from .jobsetup import initialise, job_environment, job_store
from .options import (
    BatchParam,
    Size,
    broker_option,
    data_dir_option,
    database_option,
    deepaas_option,
    heartbeat_option,
    log_format_option,
    log_level_option,
    max_jobs_option,
    model_groups,
    model_option,
    option,
    require_models,
    targets_argument,
)

#: Threads per worker, chosen by measurement (docs/architecture.md, "Concurrency").
THREADS = 32


@click.command()
@targets_argument
@option("--host", default="127.0.0.1", help="Address to listen on.")
@option("--port", default=5000, type=click.IntRange(0, 65535), help="Port to listen on.")
@option("--workers", default=1, type=click.IntRange(min=1), help="Worker processes.")
@option(
    "--threads",
    default=THREADS,
    type=click.IntRange(min=1),
    help="Requests each worker answers at once (each model is still called by one thread at a "
    "time unless it declares thread_safe).",
)
@option(
    "--batch",
    "batch_policies",
    multiple=True,
    type=BatchParam(),
    metavar="MODEL=SIZE[,WAIT_MS]",
    help="Batch MODEL's concurrent predictions in calls of at most SIZE requests, the first "
    "waiting at most WAIT_MS for more; overrides the model's own limits (repeatable; SIZE 1: "
    "one predict call per request). A batch holds at most --threads requests.",
)
@model_option
@deepaas_option
@option("--no-warm", is_flag=True, help="Do not call the models' warm() before serving.")
@option(
    "--no-preload",
    is_flag=True,
    help="Load the models in each worker instead of once before forking them (for models "
    "whose loading is not fork-safe, such as CUDA contexts).",
)
@option(
    "--reload",
    is_flag=True,
    help="Restart the workers when a model's source files change (for development; implies "
    "--no-preload).",
)
@option("--timeout", default=120, type=click.IntRange(min=1), help="Request timeout (seconds).")
@option(
    "--body-timeout",
    default=ConnectionLimits.body_timeout,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds a client has to send a request's head and a body of up to 64 KiB (for a "
    "larger body: the longest pause while sending it); 408 after it.",
)
@option(
    "--max-request-line",
    default="64K",
    type=Size(),
    help="Longest request line (method, path and query string), in bytes or with K/M (414 "
    "above it).",
)
@option(
    "--stream-keepalive",
    default=ConnectionLimits.stream_keepalive,
    type=click.FloatRange(min=0),
    help="Seconds a Server-Sent Events stream may stay silent between two items before it "
    "gets a keep-alive comment (proxies close idle connections); 0 sends none.",
)
@log_format_option
@option("--no-access-log", is_flag=True, help="Do not log a line per request.")
@option(
    "--token",
    "tokens",
    multiple=True,
    metavar="TOKEN",
    help="Require 'Authorization: Bearer TOKEN' (repeatable; the variable takes several).",
)
@option(
    "--token-file",
    "token_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="File of tokens, one per line, '#' comments (repeatable).",
)
@option(
    "--read-only-token",
    "read_only_tokens",
    multiple=True,
    metavar="TOKEN",
    help="A token that may read and predict/validate, not train or cancel (repeatable).",
)
@option(
    "--read-only-token-file",
    "read_only_token_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="File of read-only tokens (repeatable).",
)
@option(
    "--max-upload-size",
    default="1G",
    type=Size(),
    help="Largest request body, in bytes or with K/M/G/T (413 above it).",
)
@option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Allow cross-origin calls from this origin, or '*' (repeatable; CORS is off without it).",
)
@option("--base-path", default="", metavar="PATH", help="Serve everything under this prefix.")
@option(
    "--proxy",
    "proxy_count",
    default=0,
    type=click.IntRange(min=0),
    metavar="N",
    help="Trust X-Forwarded-* headers from this many reverse proxies in front.",
)
@log_level_option
@data_dir_option
@max_jobs_option(
    "Training jobs that run at the same time; the others wait, queued (with --jobs celery, "
    "each worker's --max-jobs counts)."
)
@option(
    "--max-async-predictions",
    "max_predictions",
    default=MAX_ASYNC_PREDICTIONS,
    type=click.IntRange(min=0),
    help="Asynchronous predictions (Prefer: respond-async) that run at the same time, in "
    "slots of their own: a running training never keeps one from starting (0: they share the "
    "--max-jobs slots with trainings). Local jobs only.",
)
@option(
    "--job-retention",
    default=30.0,
    type=click.FloatRange(min=0),
    help="Days a finished job (training, asynchronous prediction) is kept (0: forever).",
)
@option(
    "--max-queued-jobs",
    default=100,
    type=click.IntRange(min=0),
    help="Jobs (trainings, asynchronous predictions) that may wait, queued; more are refused "
    "(429) until some start (0: no limit).",
)
@option(
    "--jobs",
    "job_backend",
    default="local",
    type=click.Choice(BACKENDS),
    help="Where jobs (trainings, asynchronous predictions) run: local (a supervisor beside "
    "this server) or celery (`deepserve worker` processes, through --broker).",
)
@broker_option
@database_option
@heartbeat_option
def run(
    targets,
    models,
    no_deepaas,
    no_warm,
    no_preload,
    reload,
    log_level,
    log_format,
    no_access_log,
    data_dir,
    max_jobs,
    max_predictions,
    max_queued_jobs,
    job_retention,
    job_backend,
    broker,
    database,
    heartbeat_timeout,
    host,
    port,
    workers,
    threads,
    timeout,
    body_timeout,
    max_request_line,
    stream_keepalive,
    batch_policies,
    **app_options,
) -> None:
    """Serve the installed models, and each TARGET (path/to/file.py:Class or module:attr),
    with gunicorn."""
    logging.config.dictConfig(logging_config(log_format, log_level))
    settings = _settings(warm=not no_warm, **app_options)
    job_environment(data_dir, database)  # before loading: models, workers and jobs read it
    export(targets)  # for the training jobs
    no_preload = no_preload or reload
    options = gunicorn_options(
        host=host,
        port=port,
        workers=workers,
        threads=threads,
        timeout=timeout,
        log_level=log_level,
        log_format=log_format,
        access_log=not no_access_log,
    )
    groups = model_groups(no_deepaas)
    batching = dict(batch_policies)
    if reload:
        options.update(reload=True, reload_extra_files=model_files(models, groups, targets))
    limits = ConnectionLimits(
        body_timeout=body_timeout,
        max_request_line=max_request_line,
        stream_keepalive=stream_keepalive,
    )
    # the server's temporary files all go to its own directory; metrics files too, set up
    # before anything imports prometheus_client
    with server_directory() as directory, multiprocess_directory():
        if no_preload:  # checked in another process: this one never imports the models
            inventory = inventory_elsewhere(models, groups, log_format, log_level, targets)
            selection = _Selection(models, groups, targets, reload)
            load_app = functools.partial(_worker_app, inventory, selection, settings, batching)
        else:
            discovery = discover(models, groups, targets)
            inventory = discovery.inventory()
            load_app = functools.partial(_app, discovery.models, inventory, settings, batching)
        require_models(inventory, selected=bool(models))
        for name in batching:
            if name not in inventory.served:
                raise click.UsageError(f"--batch {name}=...: no model named '{name}' is served")
        try:
            backend = open_backend(
                job_backend,
                job_store(database),
                broker=broker,
                max_jobs=max_jobs,
                max_predictions=max_predictions,
                max_queued_jobs=max_queued_jobs,
                retention_days=job_retention,
                heartbeat_timeout=heartbeat_timeout,
            )
        except (ValueError, MissingExtra) as error:
            raise click.ClickException(str(error)) from error
        # Every model can have jobs: asynchronous predictions if not training.
        initialise(backend.store)
        helper = backend.helper(list(inventory.served), log_level, log_format)
        Server(
            functools.partial(load_app, backend),
            options=options,
            preload=not no_preload,
            warm=settings.warm,
            supervisor=helper,
            limits=limits,
            directory=directory,
        ).run()


def _app(
    records: list[ModelRecord],
    inventory: Inventory,
    settings: Settings,
    batching: dict[str, BatchPolicy],
    jobs: JobBackend,
) -> flask.Flask:
    """The app serving ``records`` with the ``--batch`` limits, which reports the failures of
    ``inventory``."""
    for record in records:
        if record.name in batching:
            try:
                record.set_batch_policy(batching[record.name])
            except ValueError as error:
                raise click.UsageError(f"--batch {record.name}=...: {error}") from error
    return create_app(records, settings, jobs=jobs, rejections=inventory.failures)


@dataclasses.dataclass(frozen=True)
class _Selection:
    """The models ``deepserve run`` was asked to serve, for the workers that load their own."""

    models: tuple[str, ...]
    groups: tuple[str, ...]
    targets: list[Target]
    reload: bool


def _worker_app(
    inventory: Inventory,
    selection: _Selection,
    settings: Settings,
    batching: dict[str, BatchPolicy],
    jobs: JobBackend,
) -> flask.Flask:
    """The app of one worker of a ``--no-preload`` server, with its own copies of the models
    that were checked before the fork; one failing now stops the worker.

    With ``--reload`` the models are loaded afresh instead: one broken since start-up answers
    503 with its reason (until it is fixed and the worker reloads), one fixed since is served.
    """
    if selection.reload:
        discovery = discover(selection.models, selection.groups, selection.targets)
        return _app(discovery.models, discovery.inventory(), settings, batching, jobs)
    discovery = discover(inventory.served, selection.groups, selection.targets)
    if discovery.failures:
        raise RuntimeError("; ".join(str(rejection) for rejection in discovery.failures))
    return _app(discovery.models, inventory, settings, batching, jobs)


def _settings(
    *, tokens, token_files, read_only_tokens, read_only_token_files, **options
) -> Settings:
    """The app settings from ``run``'s options; bad values are usage errors (exit 2)."""
    try:
        return Settings(
            tokens=tuple(tokens) + tuple(_file_tokens(token_files)),
            read_only_tokens=tuple(read_only_tokens) + tuple(_file_tokens(read_only_token_files)),
            cors_origins=tuple(options.pop("cors_origins")),
            **options,
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from error


def _file_tokens(files) -> list[str]:
    try:
        return [token for file in files for token in read_tokens(file)]
    except OSError as error:
        raise click.UsageError(f"cannot read a token file: {error}") from error
