"""``deepserve predict``: one prediction, offline or (``--url``) on a server; the model's
arguments are options generated from the same parameters as the server's spec."""

from __future__ import annotations

import contextlib
import mimetypes
import os
import sys
from collections.abc import Iterable, Iterator

import click
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import MIMEAccept, MultiDict

from ..api.deepaas import Predictor, is_deepaas
from ..api.responses import is_json
from ..arguments import ArgumentSpec
from ..client import BinaryResult, ClientError
from ..errors import APIError, ArgumentError
from ..loading import discover
from ..model import UploadedFile
from ..outputs import binary_body, dumps, item_document, prediction_document
from ..record import NDJSON, ModelRecord
from ..targets import is_target
from . import remote
from .arguments import ModelCommand, model_arguments
from .options import deepaas_option, model_groups, parse_targets, require_models

RECORD = "deepserve.record"  # ctx.meta key: the offline model, loaded once


def _parameters(ctx: click.Context, values: dict) -> list[dict]:
    if values.get("url"):
        return remote.model_parameters(ctx, values, "predict")
    model = values["model"]
    if is_target(model):
        discovery = discover(groups=(), targets=parse_targets(ctx, None, [model]))
    else:
        discovery = discover([model], model_groups(values["no_deepaas"]))
    require_models(discovery.inventory(), selected=True)
    ctx.meta[RECORD] = discovery.models[0]
    return list(discovery.models[0].predict_args.parameters.values())


@click.command(cls=ModelCommand, parameters=_parameters)
@click.argument("model")
@click.option(
    "--media-type", default="application/json", show_default=True, help="Output media type."
)
@click.option("--output-file", type=click.Path(dir_okay=False), help="Write the result here.")
@click.option("--no-warm", is_flag=True, help="Do not call the model's warm() first (offline).")
@deepaas_option
@remote.url_option
@remote.token_option
@click.pass_context
def predict(ctx, model, media_type, output_file, no_warm, no_deepaas, url, token, **values):
    """Run one prediction: deepserve predict MODEL --ARG VALUE ...

    Offline, in this process (MODEL is an installed model's name or a target:
    path/to/file.py:Class or module:attr); with --url, on that server. `deepserve predict
    MODEL --help` lists the model's arguments. File arguments take a path. Prints the JSON
    result (or writes it to --output-file); other media types need --output-file. Exits 2 on
    bad arguments, 1 when the model fails. A streaming model's items are collected in the JSON
    result, or with --media-type application/x-ndjson printed one JSON line each as they come
    (offline and with --url).
    """
    arguments = model_arguments(ctx, values)
    if url:
        _remote(remote.client(ctx, url, token), model, arguments, media_type, output_file)
        return
    record = ctx.meta[RECORD]
    try:
        _offline(record, arguments, media_type, output_file, warm=not no_warm)
    except APIError as error:
        click.echo(dumps(error.data), err=True)
        sys.exit(2 if error.code < 500 else 1)


def _remote(client, model: str, arguments: dict, media_type: str, output_file: str | None):
    if media_type == NDJSON and client.operations[model].predict.streams:
        try:
            items = client.predict(model, accept=NDJSON, stream=True, **arguments)
            _write_lines((dumps(item) for item in items), output_file)
        except ClientError as error:
            remote.fail(error)
        return
    if not is_json(media_type) and output_file is None:
        remote.fail(ClientError(f"{media_type} output needs --output-file", 400))
    try:
        result = client.predict(model, accept=media_type, **arguments)
    except ClientError as error:
        remote.fail(error)
    if isinstance(result, BinaryResult):
        remote.write(result.content, output_file)
    else:
        remote.write(dumps(result).encode() + b"\n", output_file)


def _stream(record: ModelRecord, items: Iterator, media_type: str, path: str | None) -> None:
    """A streaming model's items, one JSON line each as the model yields it
    (``application/x-ndjson``); a failure midway exits with its error."""
    if media_type != NDJSON:
        raise APIError(400, f"{media_type} is for HTTP clients; use --media-type {NDJSON}")
    with contextlib.closing(items):
        _write_lines((item_document(record, item) for item in items), path)


def _write_lines(lines: Iterable[str], path: str | None) -> None:
    """Write each of ``lines`` to ``path`` (or stdout) as soon as it comes (NDJSON)."""
    output = open(path, "wb") if path else contextlib.nullcontext(sys.stdout.buffer)  # noqa: SIM115
    with output as target:
        for line in lines:
            target.write(line.encode() + b"\n")
            target.flush()


def _offline(
    record: ModelRecord, arguments: dict, media_type: str, output_file: str | None, warm: bool
) -> None:
    args = record.predict_args.load(command_line_values(arguments, record.predict_args))
    chosen = record.negotiate(MIMEAccept([(media_type, 1)]))
    if warm:
        record.warm()
    if record.streams and not is_json(chosen):
        _stream(record, record.stream(args), chosen, output_file)
        return
    output = record.predict(args, chosen)
    if is_json(chosen):
        # a DEEPaaS model's document is its output as it is, as over HTTP
        document = Predictor(record).document if is_deepaas(record) else None
        text = document(output) if document else prediction_document(record, output)
        remote.write(text.encode() + b"\n", output_file)
    elif output_file is None:
        raise APIError(400, f"{chosen} output needs --output-file")
    else:
        remote.write(_read_all(binary_body(record, output, chosen)), output_file)


def command_line_values(arguments: dict, spec: ArgumentSpec) -> MultiDictProxy:
    """The raw values of ``spec`` from the command line's text; file arguments are paths."""
    data = MultiDict()
    for name, value in arguments.items():
        for item in value if isinstance(value, list) else [value]:
            data.add(name, _local_file(name, item) if name in spec.file_args else item)
    return MultiDictProxy(data, spec.schema)


def _local_file(name: str, path: str) -> UploadedFile:
    if not os.path.isfile(path):
        raise ArgumentError({name: [f"No such file: {path}"]})
    content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return UploadedFile(name, os.path.abspath(path), content_type, os.path.basename(path))


def _read_all(body) -> bytes:
    if isinstance(body, bytes):
        return body
    if hasattr(body, "read_bytes"):
        return body.read_bytes()
    with body:
        return body.read()
