"""``echo``: a BaseModel subclass exercising every common argument type."""

from typing import ClassVar

from marshmallow import Schema, fields, validate

from deepserve.model import BaseModel


class EchoResponse(Schema):
    """Response schema of ``EchoModel.predict``."""

    text = fields.Str(required=True, metadata={"description": "The text, repeated."})
    count = fields.Int(required=True, metadata={"description": "Repetitions."})
    scale = fields.Float(required=True, metadata={"description": "The scale given."})
    flag = fields.Bool(required=True, metadata={"description": "The flag given."})
    color = fields.Str(required=True, metadata={"description": "The color given."})
    numbers_sum = fields.Int(required=True, metadata={"description": "Sum of the numbers given."})
    day = fields.Str(
        required=True,
        allow_none=True,
        metadata={"description": "The day given (ISO 8601), or null."},
    )


class EchoModel(BaseModel):
    """Echoes its arguments back; also supports ``validate`` and ``warm``."""

    schema = EchoResponse
    warm_calls: ClassVar[int] = 0

    def __init__(self):
        """Start not warmed."""
        self.warmed = False

    def get_metadata(self):
        """Return the model metadata, with an extra ``tags`` key."""
        return {
            "name": "echo",
            "description": "Echoes its arguments back.",
            "version": "1.0",
            "author": "deepserve developers",
            "license": "Apache-2.0",
            "url": "https://example.org/deepserve/echo",
            "tags": ["test"],
        }

    def warm(self):
        """Mark this instance as warmed and count the call."""
        self.warmed = True
        EchoModel.warm_calls += 1

    def get_predict_args(self):
        """Return one argument of each common field type."""
        return {
            "text": fields.Str(required=True, metadata={"description": "Text to echo."}),
            "count": fields.Int(
                load_default=1,
                validate=validate.Range(min=1, max=10),
                metadata={"description": "How many times to repeat the text."},
            ),
            "scale": fields.Float(
                load_default=1.0,
                validate=validate.Range(0, 100),
                metadata={"description": "A scale factor."},
            ),
            "flag": fields.Bool(load_default=False, metadata={"description": "A boolean flag."}),
            "color": fields.Str(
                load_default="red",
                validate=validate.OneOf(["red", "green", "blue"]),
                metadata={"description": "A color."},
            ),
            "numbers": fields.List(
                fields.Int(),
                load_default=list,
                metadata={"description": "Integers to sum."},
            ),
            "day": fields.Date(
                required=False,
                load_default=None,
                allow_none=True,
                metadata={"description": "A date."},
            ),
        }

    def predict(self, text, count=1, scale=1.0, flag=False, color="red", numbers=(), day=None):
        """Echo the arguments back."""
        return {
            "text": text * count,
            "count": count,
            "scale": scale,
            "flag": flag,
            "color": color,
            "numbers_sum": sum(numbers),
            "day": day.isoformat() if day else None,
        }

    def get_validate_args(self):
        """Return the arguments of ``validate``."""
        return {
            "values": fields.List(
                fields.Float(validate=validate.Range(-1e9, 1e9)),  # a sum that cannot overflow
                required=True,
                metadata={"description": "Values to average."},
            )
        }

    def validate(self, values):
        """Return the mean (None if empty) and count of ``values``."""
        return {"mean": sum(values) / len(values) if values else None, "n": len(values)}
