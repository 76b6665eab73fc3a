"""``broken-import``: a module model whose import fails (a missing dependency)."""

import tensorflow_fake  # noqa: F401  (deliberately missing)
from marshmallow import fields


def get_metadata():
    """Return the model metadata."""
    return {"name": "broken-import", "description": "Needs a missing module."}


def get_predict_args():
    """Return one argument."""
    return {"x": fields.Int(required=True)}


def predict(x):
    """Return ``x``."""
    return x
