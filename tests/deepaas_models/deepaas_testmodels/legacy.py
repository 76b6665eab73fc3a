"""``deepaas-legacy``: a module of functions in the style most published DEEPaaS models use.

Its fields pass metadata and defaults as marshmallow 3 keyword arguments, as the DEEPaaS
documentation taught; marshmallow 4 no longer accepts them (this module then fails to import).
"""

import hashlib
import tempfile
import zipfile

from webargs import fields, validate

WARM = {"calls": 0}

schema = {
    "status": fields.Str(required=True, description="Always OK"),
    "predictions": fields.List(
        fields.Nested(
            {
                "label": fields.Str(required=True),
                "probability": fields.Float(required=True),
            }
        ),
        required=True,
        description="The labels, most likely first",
    ),
    "sha256": fields.Str(required=True, description="Digest of the data file"),
    "original_filename": fields.Str(required=True),
    "mask": fields.Str(required=True, description="The mask argument as received"),
    "top": fields.Int(required=True),
    "mode": fields.Str(required=True),
}


def get_metadata():
    """Return the model metadata, DEEPaaS style."""
    return {
        "name": "deepaas-legacy",
        "description": "A DEEPaaS model written with marshmallow 3 keyword arguments.",
        "author": "deepserve developers",
        "version": "0.1",
        "license": "Apache-2.0",
        "url": "https://example.org/deepaas-legacy",
    }


def warm():
    """Count the calls."""
    WARM["calls"] += 1


def get_predict_args():
    """Arguments the way the DEEPaaS documentation shows them."""
    return {
        "data": fields.Field(
            required=True,
            type="file",
            location="form",
            description="Data file to label.",
        ),
        "mask": fields.Field(
            required=False,
            missing="None",
            type="file",
            location="form",
            description="An optional mask file.",
        ),
        "top": fields.Int(
            required=False,
            missing=2,
            validate=validate.Range(min=1, max=3),
            description="How many labels to return.",
        ),
        "mode": fields.Str(
            required=False,
            missing="fast",
            enum=["fast", "precise"],
            description="Labelling mode.",
        ),
        "accept": fields.Str(
            description="Media type(s) that is/are acceptable for the response.",
            missing="application/json",
            validate=validate.OneOf(["application/json", "application/zip", "text/plain"]),
            location="headers",
        ),
    }


def predict(**kwargs):
    """Label the data file; answer JSON, a zip (as an open file) or plain text."""
    data = kwargs["data"]
    with open(data.filename, "rb") as f:
        content = f.read()
    labels = [("cat", 0.75), ("dog", 0.2), ("fish", 0.05)][: kwargs["top"]]
    if kwargs["accept"] == "text/plain":
        return "\n".join(f"{label} {probability}" for label, probability in labels)
    if kwargs["accept"] == "application/zip":
        archive = tempfile.TemporaryFile()  # noqa: SIM115 - returned open, as DEEPaaS models do
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("labels.txt", " ".join(label for label, _ in labels))
            zipped.writestr(data.original_filename, content)
        archive.seek(0)
        return archive
    mask = kwargs["mask"]
    return {
        "status": "OK",
        "predictions": [{"label": label, "probability": p} for label, p in labels],
        "sha256": hashlib.sha256(content).hexdigest(),
        "original_filename": data.original_filename,
        "mask": mask if mask == "None" else f"file {mask.original_filename}",
        "top": kwargs["top"],
        "mode": kwargs["mode"],
    }


def get_train_args():
    """Training arguments, DEEPaaS style."""
    return {
        "epochs": fields.Int(required=False, missing=1, description="Epochs to train."),
    }


def train(**kwargs):
    """Pretend to train."""
    return {"epochs": kwargs["epochs"]}
