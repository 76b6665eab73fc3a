"""``widgets``: one argument of every kind the web GUI has a widget for, and a result to render.

Its JSON answer holds a nested object (a tree), a list of records (a table), a numeric series
(a chart, found by its shape), a dict of series marked ``ui: plot`` (a chart, by the hint), a dict
of columns marked ``ui: table`` and a picture marked ``ui: image``; it also answers as
``image/png`` and ``text/csv``. ``train`` reports progress step by step and ``validate``
summarises a CSV file.
"""

import base64
import csv
import io
import itertools
import os
import sys
import time

from marshmallow import Schema, fields, validate

import deepserve
from deepserve.model import BaseModel, File
from deepserve_testmodels.media import png

COLORS = ["red", "green", "blue"]
COUNTRIES = ["Austria", "Belgium", "Croatia", "Denmark", "Estonia", "Finland", "Greece", "Spain"]
TAGS = ["fast", "cheap", "accurate"]


class Record(Schema):
    """One row of the ``records`` table."""

    index = fields.Int(required=True)
    label = fields.Str(required=True)
    value = fields.Float(required=True)


class WidgetsResponse(Schema):
    """What ``predict`` answers in JSON."""

    received = fields.Dict(
        required=True,
        metadata={"description": "Every argument as the model received it (files described)."},
    )
    records = fields.List(
        fields.Nested(Record),
        required=True,
        metadata={"description": "One row per value given, with its label."},
    )
    series = fields.List(
        fields.Float(),
        required=True,
        metadata={"description": "The running sum of the values."},
    )
    curves = fields.Dict(
        keys=fields.Str(),
        values=fields.List(fields.Float()),
        required=True,
        metadata={"description": "The values and their squares.", "ui": "plot"},
    )
    columns = fields.Dict(
        keys=fields.Str(),
        values=fields.List(fields.Raw()),
        required=True,
        metadata={"description": "The records again, by column.", "ui": "table"},
    )
    thumbnail = fields.Str(
        required=True,
        metadata={"description": "A small picture, as a data URL.", "ui": "image"},
    )


def gradient_png(width=96, height=64):
    """A PNG picture: a red-to-blue gradient."""
    return png(width, height, lambda x, y: (255 * x // width, 80, 255 * y // height))


def describe_file(upload):
    """What the model saw of an uploaded file (never its server-side path)."""
    if upload is None:
        return None
    return {
        "original_filename": upload.original_filename,
        "content_type": upload.content_type,
        "size": os.path.getsize(upload.filename),
    }


def read_csv(upload):
    """The rows of an uploaded CSV file, as dicts by column name."""
    with open(upload.filename, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


class WidgetsModel(BaseModel):
    """Declares every argument kind; answers in JSON, PNG or CSV; trains and validates."""

    schema = WidgetsResponse
    predict_media_types = ("application/json", "image/png", "text/csv")

    def get_metadata(self):
        """Return the model metadata."""
        return {
            "name": "widgets",
            "description": "Declares one argument of every kind, to exercise the web GUI.",
            "version": "0.1",
            "author": "deepserve developers",
        }

    def get_predict_args(self):
        """Return one argument per widget of the web GUI."""
        return {
            "text": fields.Str(
                required=True,
                validate=validate.NoneOf(["forbidden"], error="This word is not allowed."),
                metadata={"description": "Any text (but not 'forbidden')."},
            ),
            "notes": fields.Str(
                load_default="", metadata={"description": "Longer text.", "ui": "textarea"}
            ),
            "secret": fields.Str(
                load_default="", metadata={"description": "Not shown.", "format": "password"}
            ),
            "color": fields.Str(
                load_default="red",
                validate=validate.OneOf(COLORS),
                metadata={"description": "Few choices."},
            ),
            "country": fields.Str(
                validate=validate.OneOf(COUNTRIES),
                metadata={"description": "Many choices."},
            ),
            "tags": fields.List(
                fields.Str(validate=validate.OneOf(TAGS)),
                load_default=list,
                metadata={"description": "Several of a few choices."},
            ),
            "count": fields.Int(
                load_default=3,
                validate=validate.Range(1, 10),
                metadata={"description": "An integer between 1 and 10."},
            ),
            "threshold": fields.Float(
                load_default=0.5,
                validate=validate.Range(0, 1),
                metadata={"description": "A number between 0 and 1."},
            ),
            "seed": fields.Int(load_default=0, metadata={"description": "Any integer."}),
            "scale": fields.Float(metadata={"description": "Any number (optional)."}),
            "enabled": fields.Bool(load_default=False, metadata={"description": "A switch."}),
            "values": fields.List(
                fields.Float(),
                load_default=list,
                metadata={"description": "Numbers: tabulated and plotted."},
            ),
            "labels": fields.List(
                fields.Str(),
                load_default=list,
                metadata={"description": "A label for each value."},
            ),
            "image": File(metadata={"description": "A picture.", "ui": "image"}),
            "table": File(metadata={"description": "A CSV file.", "ui": "csv"}),
            "day": fields.Date(metadata={"description": "A date."}),
            "moment": fields.DateTime(metadata={"description": "A date and time."}),
        }

    def predict(self, accept="application/json", **args):
        """Describe the arguments; tabulate and plot ``values``; or answer with a PNG or CSV."""
        if accept == "image/png":
            return gradient_png()
        values, labels = args["values"], args["labels"]
        records = [
            {"index": i, "label": labels[i] if i < len(labels) else "", "value": value}
            for i, value in enumerate(values)
        ]
        if accept == "text/csv":
            out = io.StringIO()
            writer = csv.DictWriter(out, ["index", "label", "value"], lineterminator="\n")
            writer.writeheader()
            writer.writerows(records)
            return out.getvalue()
        received = {name: value for name, value in args.items() if name not in ("image", "table")}
        for name in ("day", "moment"):
            if received.get(name) is not None:
                received[name] = received[name].isoformat()
        received["files"] = {
            "image": describe_file(args.get("image")),
            "table": describe_file(args.get("table")),
        }
        if args.get("table") is not None:
            received["files"]["table"]["rows"] = len(read_csv(args["table"]))
        thumbnail = base64.b64encode(gradient_png(48, 32)).decode()
        return {
            "received": received,
            "records": records,
            "series": list(itertools.accumulate(values)),
            "curves": {"value": values, "square": [v * v for v in values]},
            "columns": {name: [record[name] for record in records] for name in ("label", "value")},
            "thumbnail": f"data:image/png;base64,{thumbnail}",
        }

    def get_train_args(self):
        """Return the number of steps and the time each takes."""
        return {
            "steps": fields.Int(load_default=5, validate=validate.Range(1, 1000)),
            "delay": fields.Float(
                load_default=0.2,
                validate=validate.Range(0, 60),
                metadata={"description": "Seconds per step.", "ui": "slider"},
            ),
        }

    def train(self, steps=5, delay=0.2):
        """Take ``steps`` steps of ``delay`` seconds, reporting progress, loss and a log line."""
        loss = 1.0
        for step in range(1, steps + 1):
            time.sleep(delay)
            loss /= 2
            print(f"step {step}/{steps}: loss {loss:.4f}", file=sys.stderr, flush=True)
            deepserve.report(step / steps, {"loss": loss}, f"step {step} of {steps}")
        return {"steps": steps, "loss": loss}

    def get_validate_args(self):
        """Return the CSV file to summarise."""
        return {"data": File(required=True, metadata={"description": "A CSV file.", "ui": "csv"})}

    def validate(self, data):
        """Count the rows of the CSV file and list its columns."""
        rows = read_csv(data)
        return {"rows": len(rows), "columns": list(rows[0]) if rows else []}
