"""``tallied``: a model with ``predict_batch`` that records the size of every batch."""

from typing import ClassVar

from marshmallow import fields

from deepserve.model import BaseModel


class TalliedModel(BaseModel):
    """Doubles ``x``; ``predict_batch`` doubles several at once (a negative one fails alone)."""

    schema: ClassVar[dict] = {"double": fields.Float(required=True)}
    max_batch_size = 4
    batch_sizes: ClassVar[list[int]] = []

    def get_metadata(self):
        """Return the model metadata."""
        return {"name": "tallied", "description": "Doubles numbers, in batches."}

    def get_predict_args(self):
        """Return one number."""
        return {"x": fields.Float(required=True)}

    def predict(self, x):
        """Double ``x``."""
        return {"double": 2 * x}

    def predict_batch(self, batch):
        """Double each request's ``x``, in one call; record the batch's size."""
        TalliedModel.batch_sizes.append(len(batch))
        return [
            ValueError(f"{args['x']} is negative") if args["x"] < 0 else {"double": 2 * args["x"]}
            for args in batch
        ]
