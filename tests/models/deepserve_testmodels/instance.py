"""``instance``: a model given as an instance of a plain class (no BaseModel)."""

from marshmallow import fields


class DoublerModel:
    """Doubles an integer; has no schema, so output is wrapped as predictions."""

    def get_metadata(self):
        """Return the model metadata."""
        return {"name": "instance", "description": "Doubles an integer."}

    def get_predict_args(self):
        """Return the single integer argument."""
        return {"x": fields.Int(required=True)}

    def predict(self, x):
        """Return ``x * 2``."""
        return x * 2


model = DoublerModel()
