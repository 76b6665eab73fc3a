"""``deepserve predict``: one prediction offline, with the model's arguments as options."""

from __future__ import annotations

import mimetypes
import os
import sys

import click
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import MIMEAccept, MultiDict

from ..api.deepaas import Predictor, is_deepaas
from ..api.responses import is_json
from ..arguments import ArgumentSpec
from ..errors import APIError, ArgumentError
from ..loading import discover
from ..model import UploadedFile
from ..outputs import binary_body, dumps, prediction_document
from ..targets import is_target
from .options import deepaas_option, model_groups, parse_targets, require_models


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
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

    MODEL is an installed model's name or a target (path/to/file.py:Class or module:attr).
    File arguments take a path. Prints the JSON result (or writes it to --output-file);
    binary results need --output-file. Exits 2 on bad arguments, 1 when the model fails.
    """
    if is_target(model):
        discovery = discover(groups=(), targets=parse_targets(ctx, None, [model]))
    else:
        discovery = discover([model], model_groups(no_deepaas))
    require_models(discovery.inventory(), selected=True)
    record = discovery.models[0]
    try:
        args = record.predict_args.load(command_line_arguments(ctx.args, record.predict_args))
        chosen = record.negotiate(MIMEAccept([(media_type, 1)]))
        if not no_warm:
            record.warm()
        output = record.predict(args, chosen)
        if is_json(chosen):
            # a DEEPaaS model's document is its output as it is, as over HTTP
            document = Predictor(record).document if is_deepaas(record) else None
            text = document(output) if document else prediction_document(record, output)
            _write(text.encode() + b"\n", output_file)
        elif output_file is None:
            raise APIError(400, f"{chosen} output needs --output-file")
        else:
            _write(_read_all(binary_body(record, output, chosen)), output_file)
    except APIError as error:
        click.echo(dumps(error.data), err=True)
        sys.exit(2 if error.code < 500 else 1)


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
