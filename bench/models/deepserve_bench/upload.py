"""Count the bytes of an uploaded file (read in chunks, as a model reading an image would)."""

import os

from marshmallow import fields

CHUNK = 1024 * 1024


def get_metadata() -> dict:
    return {"name": "upload", "description": "Counts the bytes of a file."}


def get_predict_args() -> dict:
    # DEEPaaS's declaration of a file argument, which deepserve accepts too.
    return {"file": fields.Field(required=True, metadata={"type": "file", "location": "form"})}


def predict(file) -> dict:
    with open(file.filename, "rb") as stream:
        return count(stream)


def count(stream) -> dict:
    """The size of ``stream`` and the process that read it."""
    size = 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
    return {"bytes": size, "pid": os.getpid()}
