"""A model with typical argument declarations; fifty entry points name it (start-up time)."""

from marshmallow import fields, validate


class TypicalModel:
    def get_metadata(self) -> dict:
        return {"name": "typical", "description": "A model with typical arguments.", "version": "1"}

    def get_predict_args(self) -> dict:
        return {
            "image": fields.Field(required=True, metadata={"type": "file"}),
            "threshold": fields.Float(
                load_default=0.5, validate=validate.Range(0, 1), metadata={"description": "cut"}
            ),
            "top_k": fields.Int(load_default=5, validate=validate.Range(1, 100)),
            "labels": fields.List(fields.Str(), load_default=list),
            "mode": fields.Str(load_default="fast", validate=validate.OneOf(["fast", "exact"])),
            "verbose": fields.Bool(load_default=False),
        }

    def get_train_args(self) -> dict:
        return {"epochs": fields.Int(load_default=10), "rate": fields.Float(load_default=0.01)}

    def predict(self, **kwargs) -> dict:
        return {"top": [], "threshold": kwargs["threshold"]}

    def train(self, **kwargs) -> dict:
        return {"epochs": kwargs["epochs"]}
