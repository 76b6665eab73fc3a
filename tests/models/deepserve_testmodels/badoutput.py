"""``badoutput``: a model whose output can violate its own response schema."""

from typing import ClassVar

from marshmallow import fields, validate

from deepserve.model import BaseModel


class BadOutputModel(BaseModel):
    """Returns output that fails its schema unless ``broken`` is false."""

    schema: ClassVar[dict] = {
        "label": fields.Str(required=True),
        "score": fields.Float(required=True, validate=validate.Range(0, 1)),
    }

    def get_metadata(self):
        """Return the model metadata."""
        return {"name": "badoutput", "description": "Breaks its own schema."}

    def get_predict_args(self):
        """Return the ``broken`` switch."""
        return {"broken": fields.Bool(load_default=True)}

    def predict(self, broken=True):
        """Return invalid output if ``broken``, else valid output."""
        if broken:
            return {"label": 3, "score": 7.5}
        return {"label": "ok", "score": 0.5}
