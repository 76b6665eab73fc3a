"""A 100-tree random forest on the iris features: a real model whose cost per call dominates
(batching's benchmark), and ``noop``, the same arguments answered without a model (the
server's own ceiling)."""

from __future__ import annotations

import numpy as np
from marshmallow import fields
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
TREES = 100


class ForestModel:
    """Classifies an iris flower with a random forest of 100 trees, in batches of up to 64."""

    max_batch_size = 64
    max_batch_wait_ms = 5.0

    def __init__(self) -> None:
        x, y = load_iris(return_X_y=True)
        self.forest = RandomForestClassifier(n_estimators=TREES, random_state=0).fit(x, y)

    def get_metadata(self) -> dict:
        return {"name": "forest", "description": f"A {TREES}-tree random forest on iris."}

    def get_predict_args(self) -> dict:
        return {name: fields.Float(required=True) for name in FEATURES}

    def predict(self, **flower: float) -> int:
        return self.predict_batch([flower])[0]

    def predict_batch(self, batch: list[dict]) -> list[int]:
        rows = np.array([[flower[name] for name in FEATURES] for flower in batch])
        return self.forest.predict(rows).tolist()


class NoopModel(ForestModel):
    """The forest's arguments and batches, and no model: what serving alone costs."""

    def __init__(self) -> None:
        pass

    def get_metadata(self) -> dict:
        return {"name": "noop", "description": "Answers 0 for every flower."}

    def predict_batch(self, batch: list[dict]) -> list[int]:
        return [0] * len(batch)
