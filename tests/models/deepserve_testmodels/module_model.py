"""``module``: a model given as a module of functions, with a dict-of-fields schema."""

from marshmallow import fields

schema = {"sum": fields.Float(required=True)}


def get_metadata():
    """Return the model metadata."""
    return {"name": "module", "description": "Adds two numbers."}


def get_predict_args():
    """Return the two float arguments."""
    return {"a": fields.Float(required=True), "b": fields.Float(load_default=0.0)}


def predict(a, b=0.0):
    """Return the sum of ``a`` and ``b``."""
    return {"sum": a + b}
