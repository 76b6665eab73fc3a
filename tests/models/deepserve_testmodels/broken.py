"""Models the loader must reject, each broken in exactly one way."""

from marshmallow import fields

from deepserve.model import BaseModel


class _Valid(BaseModel):
    """A valid model, the base of each broken one below."""

    def get_metadata(self):
        """Return the model metadata."""
        return {"name": type(self).__name__, "description": "A broken model."}

    def get_predict_args(self):
        """Return one argument."""
        return {"x": fields.Int(required=True)}

    def predict(self, x):
        """Return ``x``."""
        return x


class NoPredictModel:
    """``broken-nopredict``: a plain class without ``predict``."""

    def get_metadata(self):
        """Return the model metadata."""
        return {"name": "broken-nopredict", "description": "Has no predict."}

    def get_predict_args(self):
        """Return one argument."""
        return {"x": fields.Int(required=True)}


class BadArgsModel(_Valid):
    """``broken-args``: an argument that is a type, not a marshmallow field."""

    def get_predict_args(self):
        """Return a non-field argument."""
        return {"x": int}


class BadSchemaModel(_Valid):
    """``broken-schema``: a schema that is neither a Schema, a dict nor None."""

    schema = 42


class BadMetadataModel(_Valid):
    """``broken-metadata``: metadata that is a list, not a dict."""

    def get_metadata(self):
        """Return a list instead of a dict."""
        return ["not", "a", "dict"]


class BadInitModel(_Valid):
    """``broken-init``: a constructor that raises."""

    def __init__(self):
        """Fail, as if the weights could not be loaded."""
        raise ValueError("weights file missing")
