"""Streams ``items`` short strings, the first after ``first`` seconds: what a stream costs on
top of the model (``bench/streaming.py``)."""

import time

from marshmallow import fields, validate

predict_streams = True


def get_metadata() -> dict:
    return {"name": "ticker", "description": "Streams short strings."}


def get_predict_args() -> dict:
    return {
        "first": fields.Float(load_default=0.0, validate=validate.Range(0, 10)),
        "items": fields.Int(load_default=1, validate=validate.Range(1, 1_000_000)),
    }


def predict(first: float = 0.0, items: int = 1):
    """A generator: it sleeps ``first`` seconds (a model's work before its first token) when
    first asked for an item."""
    time.sleep(first)
    for _ in range(items):
        yield " word"
