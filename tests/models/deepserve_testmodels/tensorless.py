"""``tensorless``: a model with an argument that has no tensor form (a dict of options)."""

from marshmallow import fields

from deepserve.model import BaseModel


class TensorlessModel(BaseModel):
    """Counts the options it is given; not an Open Inference Protocol model."""

    def get_metadata(self):
        """Return the model metadata."""
        return {"name": "tensorless", "description": "Takes a dict argument."}

    def get_predict_args(self):
        """Return one dict argument."""
        return {"options": fields.Dict(required=True, metadata={"description": "any options"})}

    def predict(self, options):
        """Return how many options were given."""
        return {"count": len(options)}
