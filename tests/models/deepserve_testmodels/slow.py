"""``slow``: sleeps, then tells which process (and thread) answered."""

import os
import threading
import time

from marshmallow import fields, validate

from deepserve.model import BaseModel


class SlowModel(BaseModel):
    """Sleeps for the given time, then returns it and its process id."""

    def __init__(self):
        self.loaded_in = os.getpid()  # the master's, unless workers load their own models

    def get_metadata(self):
        """Return the model metadata."""
        return {"name": "slow", "description": "Sleeps, then answers."}

    def warm(self):
        """Fail when SLOW_WARM_FAIL is set (tests of start-up failures); note the warm-up."""
        if os.environ.get("SLOW_WARM_FAIL"):
            raise RuntimeError("cannot reach the GPU")
        self.warmed_in = os.getpid()

    def get_predict_args(self):
        """Return the sleep duration."""
        return {"seconds": fields.Float(load_default=0.2, validate=validate.Range(0, 30))}

    def predict(self, seconds=0.2):
        """Sleep ``seconds``, then return it, the process and thread ids, and where it was
        warmed and loaded."""
        time.sleep(seconds)
        return {
            "slept": seconds,
            "pid": os.getpid(),
            "thread": threading.get_ident(),
            "warmed": getattr(self, "warmed_in", None),
            "loaded": self.loaded_in,
        }
