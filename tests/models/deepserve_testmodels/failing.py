"""``failing``: a model whose predict always raises; no train or validate."""

from deepserve.model import BaseModel


class FailingModel(BaseModel):
    """Raises on predict, with a detail that must not leak to clients."""

    def get_metadata(self):
        """Return the model metadata."""
        return {"name": "failing", "description": "Always fails."}

    def get_predict_args(self):
        """Return no arguments."""
        return {}

    def predict(self):
        """Raise a RuntimeError."""
        raise RuntimeError("the model broke: secret detail")
