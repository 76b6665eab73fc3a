"""Streams ``items`` short strings, the first after ``first`` seconds of sleep (or, ``busy``,
of computing): what a stream costs on top of the model (``bench/streaming.py``)."""

import time

from marshmallow import fields, validate

predict_streams = True


def get_metadata() -> dict:
    return {"name": "ticker", "description": "Streams short strings."}


def get_predict_args() -> dict:
    return {
        "first": fields.Float(load_default=0.0, validate=validate.Range(0, 10)),
        "items": fields.Int(load_default=1, validate=validate.Range(1, 1_000_000)),
        "busy": fields.Bool(load_default=False),
    }


def predict(first: float = 0.0, items: int = 1, busy: bool = False):
    """A generator: it sleeps ``first`` seconds (a model's work before its first token, waiting
    for a device), or keeps the processor busy for as long, when first asked for an item."""
    if busy:
        end = time.perf_counter() + first
        while time.perf_counter() < end:
            pass
    else:
        time.sleep(first)
    for _ in range(items):
        yield " word"
