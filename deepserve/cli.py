"""The ``deepserve`` command line: run, worker, list, predict, openapi."""

from __future__ import annotations

import functools
import json
import logging
import logging.config
import mimetypes
import os
import sys
from pathlib import Path

import click
import flask
import sqlalchemy
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import MIMEAccept, MultiDict

from . import __version__, paths
from .api import create_app
from .api.responses import is_json
from .arguments import ArgumentSpec
from .errors import APIError, ArgumentError
from .extras import MissingExtra
from .jobs.backend import BACKENDS, JobBackend, open_backend
from .jobs.maintenance import HEARTBEAT_TIMEOUT
from .jobs.store import DATABASE_VARIABLE, JobStore
from .loading import GROUP, GROUPS, Inventory, discover, inventory_elsewhere
from .logs import FORMATS, logging_config
from .metrics import multiprocess_directory
from .model import UploadedFile
from .outputs import binary_body, dumps, prediction_document
from .record import ModelRecord
from .server import Server, gunicorn_options
from .settings import Settings, parse_size, read_tokens

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


log_level_option = option(
    "--log-level", default="info", type=click.Choice(LOG_LEVELS), help="Log level."
)
log_format_option = option(
    "--log-format", default="text", type=click.Choice(FORMATS), help="Log line format."
)
data_dir_option = option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where training jobs and model files are kept (default: $XDG_DATA_HOME/deepserve); "
    "with Celery workers, the same shared directory everywhere.",
)
max_jobs_option = option(
    "--max-jobs",
    default=1,
    type=click.IntRange(min=1),
    help="Training jobs that run at the same time (per server, or per worker); the others "
    "wait, queued.",
)
database_option = option(
    "--database",
    metavar="URL",
    help="Job records: sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB "
    "(default: SQLite in the data directory).",
)
broker_option = option(
    "--broker", metavar="URL", help="Celery broker of the training jobs: redis://HOST:PORT/DB."
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


@click.group()
@click.version_option(__version__, prog_name="deepserve")
def main() -> None:
    """Serve machine-learning models over a REST API."""


@main.command()
@option("--host", default="127.0.0.1", help="Address to listen on.")
@option("--port", default=5000, type=click.IntRange(0, 65535), help="Port to listen on.")
@option("--workers", default=1, type=click.IntRange(min=1), help="Worker processes.")
@option("--threads", default=1, type=click.IntRange(min=1), help="Threads per worker.")
@model_option
@deepaas_option
@option("--no-warm", is_flag=True, help="Do not call the models' warm() before serving.")
@option(
    "--no-preload",
    is_flag=True,
    help="Load the models in each worker instead of once before forking them (for models "
    "whose loading is not fork-safe, such as CUDA contexts).",
)
@option("--timeout", default=120, type=click.IntRange(min=1), help="Request timeout (seconds).")
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
@max_jobs_option
@option(
    "--job-retention",
    default=30.0,
    type=click.FloatRange(min=0),
    help="Days a finished training job is kept (0: forever).",
)
@option(
    "--jobs",
    "job_backend",
    default="local",
    type=click.Choice(BACKENDS),
    help="Where training jobs run: local (a supervisor beside this server) or celery "
    "(`deepserve worker` processes, through --broker).",
)
@broker_option
@database_option
@heartbeat_option
def run(
    models,
    no_deepaas,
    no_warm,
    no_preload,
    log_level,
    log_format,
    no_access_log,
    data_dir,
    max_jobs,
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
    **app_options,
) -> None:
    """Serve the installed models with gunicorn."""
    logging.config.dictConfig(logging_config(log_format, log_level))
    settings = _settings(warm=not no_warm, **app_options)
    _job_environment(data_dir, database)  # before loading: models, workers and jobs read it
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
    with multiprocess_directory():  # before anything imports prometheus_client
        if no_preload:  # checked in another process: this one never imports the models
            inventory = inventory_elsewhere(models, groups, log_format, log_level)
            load_app = functools.partial(_worker_app, inventory, groups, settings)
        else:
            discovery = discover(models, groups)
            inventory = discovery.inventory()
            load_app = functools.partial(_app, discovery.models, inventory, settings)
        _require_models(inventory, selected=bool(models))
        try:
            backend = open_backend(
                job_backend,
                _job_store(database),
                broker=broker,
                max_jobs=max_jobs,
                retention_days=job_retention,
                heartbeat_timeout=heartbeat_timeout,
            )
        except (ValueError, MissingExtra) as error:
            raise click.ClickException(str(error)) from error
        helper = None
        if inventory.trainable:
            _initialise(backend.store)
            helper = backend.helper(list(inventory.trainable), log_level, log_format)
        Server(
            functools.partial(load_app, backend),
            options=options,
            preload=not no_preload,
            warm=settings.warm,
            supervisor=helper,
        ).run()


def _app(
    records: list[ModelRecord], inventory: Inventory, settings: Settings, jobs: JobBackend
) -> flask.Flask:
    """The app serving ``records``, which reports the failures of ``inventory``."""
    app = create_app(records, settings, jobs=jobs)
    failed = [rejection.name for rejection in inventory.failures]
    app.extensions["deepserve"]["metrics"].record_load_failures(failed)
    return app


def _worker_app(
    inventory: Inventory, groups: tuple[str, ...], settings: Settings, jobs: JobBackend
) -> flask.Flask:
    """The app of one worker of a ``--no-preload`` server, with its own copies of the models
    that were checked before the fork; one failing now stops the worker."""
    discovery = discover(inventory.served, groups)
    if discovery.failures:
        raise RuntimeError("; ".join(str(rejection) for rejection in discovery.failures))
    return _app(discovery.models, inventory, settings, jobs)


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


@main.command()
@option(
    "--model",
    "models",
    multiple=True,
    metavar="NAME",
    help="Train only this model's jobs, from its queue deepserve.NAME (repeatable; the "
    "variable takes space-separated names). Default: every installed model that trains.",
)
@deepaas_option
@broker_option
@database_option
@data_dir_option
@max_jobs_option
@heartbeat_option
@log_level_option
@log_format_option
def worker(
    models,
    no_deepaas,
    broker,
    database,
    data_dir,
    max_jobs,
    heartbeat_timeout,
    log_level,
    log_format,
) -> None:
    """Run the training jobs queued by `deepserve run --jobs celery` (a Celery worker)."""
    logging.config.dictConfig(logging_config(log_format, log_level))
    if not broker:
        raise click.UsageError("Missing option '--broker' (or DEEPSERVE_BROKER).")
    _job_environment(data_dir, database)
    inventory = discover(models, model_groups(no_deepaas)).inventory()
    _require_models(inventory, selected=bool(models))
    trainable = list(inventory.trainable)
    for name in models:
        if name not in trainable:
            raise click.ClickException(f"model '{name}' does not implement train")
    if not trainable:
        raise click.ClickException("no installed model implements train")
    try:
        from .jobs.celery_backend import Worker

        store = _job_store(database)
        worker = Worker(
            store, broker, trainable, max_jobs=max_jobs, heartbeat_timeout=heartbeat_timeout,
            log_level=log_level,
        )  # fmt: skip
    except (ValueError, MissingExtra) as error:
        raise click.ClickException(str(error)) from error
    _initialise(store)
    worker.run()


def _job_environment(data_dir: Path | None, database: str | None) -> None:
    """Make ``--data-dir`` and ``--database`` the defaults of this process and its children
    (job processes, helpers)."""
    if data_dir is not None:
        os.environ[paths.DATA_DIR_VARIABLE] = str(data_dir.resolve())
    if database:
        os.environ[DATABASE_VARIABLE] = database


def _job_store(database: str | None) -> JobStore:
    """The job store of the data directory and ``database`` (not opened yet)."""
    try:
        return JobStore(paths.data_dir().resolve(), database)
    except sqlalchemy.exc.ArgumentError as error:
        raise click.ClickException(f"--database: {error}") from error


def _initialise(store: JobStore) -> None:
    """Open the job store now (creating or migrating the schema), so that a bad data
    directory or an unreachable database stops us at once."""
    try:
        store.initialise()
    except (OSError, sqlalchemy.exc.SQLAlchemyError, RuntimeError) as error:
        reason = getattr(error, "orig", None) or error  # the driver's words, without SQL
        message = f"cannot keep training jobs in {store.description}: {reason}"
        raise click.ClickException(message) from error


@main.command(name="list")
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


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("model")
@click.option(
    "--media-type", default="application/json", show_default=True, help="Output media type."
)
@click.option("--output-file", type=click.Path(dir_okay=False), help="Write the result here.")
@click.option("--no-warm", is_flag=True, help="Do not call the model's warm() first.")
@deepaas_option
@click.pass_context
def predict(ctx, model, media_type, output_file, no_warm, no_deepaas) -> None:
    """Run one prediction offline: deepserve predict MODEL --ARG VALUE ...

    File arguments take a path. Prints the JSON result (or writes it to --output-file);
    binary results need --output-file. Exits 2 on bad arguments, 1 when the model fails.
    """
    discovery = discover([model], model_groups(no_deepaas))
    _require_models(discovery.inventory(), selected=True)
    record = discovery.models[0]
    try:
        args = record.predict_args.load(command_line_arguments(ctx.args, record.predict_args))
        chosen = record.negotiate(MIMEAccept([(media_type, 1)]))
        if not no_warm:
            record.warm()
        output = record.predict(args, chosen)
        if is_json(chosen):
            _write(prediction_document(record, output).encode() + b"\n", output_file)
        elif output_file is None:
            raise APIError(400, f"{chosen} output needs --output-file")
        else:
            _write(_read_all(binary_body(record, output, chosen)), output_file)
    except APIError as error:
        click.echo(dumps(error.data), err=True)
        sys.exit(2 if error.code < 500 else 1)


@main.command()
@model_option
@deepaas_option
@option("--indent", default=2, type=click.IntRange(min=0), help="JSON indentation.")
def openapi(models, no_deepaas, indent) -> None:
    """Print the Swagger 2.0 specification of the API."""
    discovery = discover(models, model_groups(no_deepaas))
    _require_models(discovery.inventory(), selected=bool(models))
    app = create_app(discovery.models)
    with app.test_request_context("/"):
        spec = app.extensions["deepserve"]["api"].__schema__
    click.echo(json.dumps(spec, indent=indent or None))


def command_line_arguments(tokens: list[str], spec: ArgumentSpec) -> MultiDictProxy:
    """``--name value`` / ``--name=value`` pairs as the raw arguments of ``spec``.

    A name may use ``-`` for ``_``; a flag without a value means ``true``; file arguments
    take a path.
    """
    data = MultiDict()
    position = 0
    while position < len(tokens):
        token = tokens[position]
        if not token.startswith("--") or token == "--":
            raise ArgumentError({"_": [f"Unexpected argument {token!r}; use --NAME VALUE."]})
        name, has_value, value = token[2:].partition("=")
        position += 1
        if not has_value:
            if position < len(tokens) and not tokens[position].startswith("--"):
                value = tokens[position]
                position += 1
            else:
                value = "true"
        if name not in spec.fields and name.replace("-", "_") in spec.fields:
            name = name.replace("-", "_")
        data.add(name, _local_file(name, value) if name in spec.file_args else value)
    return MultiDictProxy(data, spec.schema)


def _local_file(name: str, path: str) -> UploadedFile:
    if not os.path.isfile(path):
        raise ArgumentError({name: [f"No such file: {path}"]})
    content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return UploadedFile(name, os.path.abspath(path), content_type, os.path.basename(path))


def _require_models(inventory: Inventory, *, selected: bool) -> None:
    """Exit non-zero when a selected model is not servable, or nothing is.

    A rejected duplicate of a served name (the losing group of a clash) is not a failure.
    """
    failed = inventory.failures if selected else []
    if failed or not inventory.served:
        for rejection in failed:
            click.echo(f"error: {rejection}", err=True)
        if not inventory.served and not failed:
            click.echo("error: no valid model is installed (see `deepserve list`)", err=True)
        sys.exit(1)


def _read_all(body) -> bytes:
    if isinstance(body, bytes):
        return body
    if hasattr(body, "read_bytes"):
        return body.read_bytes()
    with body:
        return body.read()


def _write(data: bytes, path: str | None) -> None:
    if path is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    with open(path, "wb") as target:
        target.write(data)
