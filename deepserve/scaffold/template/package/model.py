"""The ${name} model: replace the example arguments, prediction and training with your own.

The example predicts ``slope * x``; training moves ``slope`` towards a target and keeps it in
the model's own directory, where every serving process finds it.
"""

from __future__ import annotations

import json
import time

import deepserve
from marshmallow import fields, validate

NAME = "${name}"


class ${class_name}(deepserve.BaseModel):
    """See https://github.com/deepserve/deepserve/blob/main/docs/models.md for the contract."""

    #: The response of predict: validated, and documented in the Swagger spec and the GUI.
    schema = {
        "y": fields.Float(required=True, metadata={"description": "slope * x"}),
        "unit": fields.Str(required=True),
    }

    def get_metadata(self) -> dict:
        return {"name": NAME, "description": "Multiplies x by a trained slope.", "version": "0.1.0"}

    def get_predict_args(self) -> dict:
        return {
            "x": fields.Float(
                required=True,
                validate=validate.Range(-1e6, 1e6),
                metadata={"description": "The input value."},
            ),
            "unit": fields.Str(
                load_default="m",
                validate=validate.OneOf(["m", "km"]),
                metadata={"description": "The unit of x, kept in the answer."},
            ),
        }

    def predict(self, x: float, unit: str) -> dict:
        return {"y": self.slope() * x, "unit": unit}

    def get_train_args(self) -> dict:
        return {
            "target_slope": fields.Float(
                required=True, metadata={"description": "The slope to learn."}
            ),
            "epochs": fields.Int(load_default=5, validate=validate.Range(1, 100)),
        }

    def train(self, target_slope: float, epochs: int) -> dict:
        """Runs as a background job (POST /v2/models/${name}/train/); reports its progress."""
        slope = self.slope()
        for epoch in range(1, epochs + 1):
            slope += (target_slope - slope) / 2
            deepserve.report(progress=epoch / epochs, metrics={"slope": slope})
            time.sleep(0.1)  # the work of one epoch
        self.weights().write_text(json.dumps({"slope": slope}))
        return {"slope": slope}

    def slope(self) -> float:
        """The trained slope, or 1 before any training."""
        weights = self.weights()
        return json.loads(weights.read_text())["slope"] if weights.exists() else 1.0

    def weights(self):
        return deepserve.model_dir(NAME) / "weights.json"
