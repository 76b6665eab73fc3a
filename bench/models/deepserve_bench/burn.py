"""Double an integer, and a CPU-bound ``train`` that burns one core for a while."""

import time

from marshmallow import fields

from .double import get_predict_args, predict  # noqa: F401 - the model's predict


def get_metadata() -> dict:
    return {"name": "burn", "description": "Doubles an integer; trains by burning CPU."}


def get_train_args() -> dict:
    return {"seconds": fields.Float(load_default=10.0, metadata={"description": "how long"})}


def train(seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    loops = 0
    while time.monotonic() < deadline:
        sum(range(10_000))
        loops += 1
    return {"loops": loops}
