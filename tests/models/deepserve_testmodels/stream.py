"""``stream``: a streaming model (``predict_streams``) whose items, failures and closing the
tests control; it records in a file when its generator is closed."""

import base64
import time
from pathlib import Path

from marshmallow import fields, validate

import deepserve
from deepserve.model import BaseModel
from deepserve_testmodels.media import png


class StreamModel(BaseModel):
    """Yields ``count`` items, ``delay`` seconds apart."""

    predict_streams = True

    def get_metadata(self):
        """Return the model metadata."""
        return {"name": "stream", "description": "Streams numbered items."}

    def get_predict_args(self):
        """Return the arguments that shape the stream."""
        return {
            "count": fields.Int(load_default=3, validate=validate.Range(0, 10000)),
            "kind": fields.Str(
                load_default="object",
                validate=validate.OneOf(["object", "text", "image"]),
                metadata={"description": "items as {index, text}, text, or PNG data URLs"},
            ),
            "delay": fields.Float(load_default=0.0, validate=validate.Range(0, 10)),
            "fail_at": fields.Int(
                load_default=None, metadata={"description": "raise instead of this item"}
            ),
            "bad_at": fields.Int(
                load_default=None, metadata={"description": "yield NaN (not JSON) here"}
            ),
            "marker": fields.Str(
                load_default=None,
                metadata={"description": "a file where 'closed' is written when it ends"},
            ),
            "gate": fields.Str(
                load_default=None,
                metadata={"description": "a file whose existence item 1 waits for (30 s at most)"},
            ),
            "words": deepserve.File(
                load_default=None, metadata={"description": "items' text: this file's words"}
            ),
        }

    def predict(self, **options):
        """Return a generator of items."""
        return self._items(**options)

    def _items(self, count, kind, delay, fail_at, bad_at, marker, gate, words):
        try:
            for index in range(count):
                if index:
                    time.sleep(delay)
                if index == 1 and gate:
                    _wait_for(Path(gate))
                if index == fail_at:
                    raise RuntimeError(f"the model broke at item {index}")
                if index == bad_at:
                    yield float("nan")
                # the upload is read lazily, after the first item: it must still be there
                text = _word(words, index) if words is not None else f"item {index}"
                yield _item(kind, index, text)
        finally:
            if marker:
                Path(marker).write_text("closed")


def _item(kind, index, text):
    if kind == "text":
        return text + " "
    if kind == "image":
        picture = png(4, 4, lambda x, y: (index * 60 % 256, 0, 0))
        return "data:image/png;base64," + base64.b64encode(picture).decode()
    return {"index": index, "text": text}


def _word(upload, index):
    with upload.open("r") as file:
        words = file.read().split()
    return words[index % len(words)]


def _wait_for(path, timeout=30):
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
