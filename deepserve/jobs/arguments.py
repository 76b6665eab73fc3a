"""Train arguments as a job record keeps them: JSON, uploaded files moved into the job.

The HTTP worker validates the arguments, then :func:`pack` serialises them through the same
fields (uploads become ``{"name", "filename", "content_type", "original_filename"}``); the
job process rebuilds them with :func:`unpack`, through the same :class:`ArgumentSpec`.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from ..arguments import ArgumentSpec
from ..model import UploadedFile


def pack(spec: ArgumentSpec, args: dict, files_dir: Path) -> dict:
    """The JSON form of loaded ``args``; uploaded files are moved into ``files_dir``."""
    stored = {}
    for name, value in args.items():
        if name in spec.file_args and value is not None:
            stored[_key(spec, name)] = _keep(value, files_dir)
        else:
            stored[_key(spec, name)] = spec.schema.fields[name].serialize(name, args)
    return stored


def unpack(spec: ArgumentSpec, stored: dict) -> dict:
    """Load stored arguments again (files as :class:`UploadedFile`); 422-style errors."""
    data = dict(stored)
    for name in spec.file_args:
        value = data.get(_key(spec, name))
        if isinstance(value, dict):
            data[_key(spec, name)] = UploadedFile(**value)
    return spec.load(data)


def describe(spec: ArgumentSpec, stored: dict) -> dict:
    """The stored arguments as shown to clients: uploaded files by their original name."""
    shown = dict(stored)
    for name in spec.file_args:
        value = shown.get(_key(spec, name))
        if isinstance(value, dict):
            shown[_key(spec, name)] = value.get("original_filename")
    return shown


def _key(spec: ArgumentSpec, name: str) -> str:
    return spec.schema.fields[name].data_key or name


def _keep(upload: UploadedFile, files_dir: Path) -> dict:
    """Move an upload out of its request's temporary directory, into the job's."""
    files_dir.mkdir(parents=True, exist_ok=True)
    target = files_dir / upload.name
    shutil.move(upload.filename, target)
    return dataclasses.asdict(dataclasses.replace(upload, filename=str(target)))
