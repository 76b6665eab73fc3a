"""``trainer``: a model whose ``train`` exercises every path of a training job."""

import os
import sys
import time

from marshmallow import fields, validate
from werkzeug.exceptions import Conflict

import deepserve
from deepserve.model import BaseModel, File

MODES = ("ok", "raise", "http", "nonjson", "print", "sleep")


class TrainerModel(BaseModel):
    """Predicts a constant; trains in one of several modes (see ``get_train_args``)."""

    def get_metadata(self):
        """Return the model metadata."""
        return {"name": "trainer", "description": "Trains in many ways, for the job tests."}

    def get_predict_args(self):
        """Return no arguments."""
        return {}

    def predict(self):
        """Return the process id (to tell workers apart)."""
        return {"pid": os.getpid()}

    def get_train_args(self):
        """Return the mode, a duration, an optional file and a label."""
        return {
            "mode": fields.Str(
                load_default="ok",
                validate=validate.OneOf(MODES),
                metadata={
                    "description": "ok: busy loop for `seconds`, reporting progress; raise: "
                    "RuntimeError; http: an HTTP 409; nonjson: returns an object; print: "
                    "writes to stdout and stderr; sleep: sleeps `seconds`"
                },
            ),
            "seconds": fields.Float(
                load_default=0.0,
                validate=validate.Range(0, 120),
                metadata={"description": "How long to train."},
            ),
            "data": File(
                required=False,
                load_default=None,
                metadata={"description": "A file to train on (described in the result)."},
            ),
            "label": fields.Str(load_default="", metadata={"description": "Echoed back."}),
        }

    def train(self, mode="ok", seconds=0.0, data=None, label=""):
        """Train according to ``mode``; the result describes the job process and the file."""
        deepserve.report(progress=0.0, metrics={"pid": os.getpid()}, message="started")
        described = _describe(data)
        if mode == "raise":
            raise RuntimeError("training diverged")
        if mode == "http":
            raise Conflict("the data set is locked")
        if mode == "nonjson":
            return object()
        if mode == "print":
            print("to stdout: epoch 1")
            print("to stderr: warning", file=sys.stderr)
        if mode == "sleep":
            time.sleep(seconds)
        else:
            _busy(seconds)
        deepserve.report(progress=1.0, metrics={"loss": 0.1}, message="finished")
        return {"pid": os.getpid(), "label": label, "data": described, "mode": mode}


def _busy(seconds):
    """Burn CPU for ``seconds``, reporting progress about ten times."""
    start = time.monotonic()
    next_report = 0.1
    while (elapsed := time.monotonic() - start) < seconds:
        sum(i * i for i in range(10_000))
        if elapsed / seconds >= next_report:
            deepserve.report(progress=min(elapsed / seconds, 1.0))
            next_report += 0.1


def _describe(data):
    if data is None:
        return None
    with data.open() as f:
        content = f.read()
    return {
        "path": data.filename,
        "existed": os.path.exists(data.filename),
        "content": content.decode(errors="replace"),
        "original_filename": data.original_filename,
        "content_type": data.content_type,
    }
