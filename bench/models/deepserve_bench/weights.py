"""A model holding 64 MiB of "weights", loaded when it is instantiated (to measure memory)."""

import os

from marshmallow import fields

SIZE = 64 * 1024 * 1024


class WeightsModel:
    def __init__(self) -> None:
        self.weights = bytearray(os.urandom(1024)) * (SIZE // 1024)  # real pages, not zeros

    def get_metadata(self) -> dict:
        return {"name": "weights", "description": f"Holds {SIZE >> 20} MiB of weights."}

    def get_predict_args(self) -> dict:
        return {"i": fields.Int(load_default=0)}

    def predict(self, i: int) -> dict:
        return {"byte": self.weights[i % SIZE]}
