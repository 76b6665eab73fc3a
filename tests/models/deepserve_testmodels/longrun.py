"""``longrun``: a long prediction in steps, reporting its progress (asynchronous predictions)."""

import os
import time

from marshmallow import fields, validate

import deepserve
from deepserve.model import BaseModel

from .media import tiny_png


class LongRunModel(BaseModel):
    """Sleeps step by step, reporting progress; answers JSON or a PNG image."""

    predict_media_types = ("application/json", "image/png")

    def get_metadata(self):
        """Return the model metadata."""
        return {"name": "longrun", "description": "A long prediction that reports progress."}

    def get_predict_args(self):
        """Return the number of steps, the time per step, and whether to fail at the end."""
        return {
            "steps": fields.Int(load_default=2, validate=validate.Range(1, 1000)),
            "seconds": fields.Float(load_default=0.05, validate=validate.Range(0, 60)),
            "fail": fields.Bool(load_default=False),
        }

    def predict(self, accept="application/json", steps=2, seconds=0.05, fail=False):
        """Sleep ``steps`` times ``seconds``, reporting each step (the process id first)."""
        deepserve.report(progress=0.0, metrics={"pid": os.getpid()}, message="started")
        for step in range(1, steps + 1):
            time.sleep(seconds)
            deepserve.report(progress=step / steps, message=f"step {step} of {steps}")
        if fail:
            raise RuntimeError("the forecast diverged")
        if accept == "image/png":
            return tiny_png()
        return {"steps": steps, "pid": os.getpid()}
