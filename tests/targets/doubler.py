"""A model that is not installed: served as a command-line target (path/to/file.py:Class)."""

from factor import FACTOR  # a neighbouring file, importable because the file's directory is
from marshmallow import fields

from deepserve import BaseModel


class Doubler(BaseModel):
    def get_metadata(self):
        return {"name": "doubler", "description": "Multiplies a number."}

    def get_predict_args(self):
        return {"x": fields.Float(required=True)}

    def predict(self, x):
        return {"result": FACTOR * x}


class Halver(Doubler):
    def predict(self, x):
        return {"result": x / 2}
