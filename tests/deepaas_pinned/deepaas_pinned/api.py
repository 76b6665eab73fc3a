"""The DEEPaaS model module: functions, marshmallow 3 keywords, a dict response schema."""

import pathlib

import yaml
from aiohttp.web import HTTPBadRequest
from deepaas.model.v2.wrapper import UploadedFile
from webargs import fields, validate

CONFIG = yaml.safe_load((pathlib.Path(__file__).parents[1] / "config.yaml").read_text())

schema = {
    "label": fields.Str(required=True, description="The label"),
    "threshold": fields.Float(required=True, description="The threshold used"),
    "original_filename": fields.Str(required=True),
}


def get_metadata():
    """Return the model metadata."""
    return {"name": "deepaas-pinned", "description": "DEEPaaS-era requirements."}


def get_predict_args():
    """Arguments with marshmallow 3 keywords, and ``accept`` with a wildcard."""
    return {
        "image": fields.Field(
            required=True, type="file", location="form", description="An image to label."
        ),
        "threshold": fields.Float(missing=CONFIG["threshold"], description="Threshold."),
        "accept": fields.Str(
            missing="application/json",
            validate=validate.OneOf(["application/json", "image/*"]),
            location="headers",
            description="Media type(s) that is/are acceptable for the response.",
        ),
    }


def predict(**kwargs):
    """Label the image, or give it back."""
    image = kwargs["image"]
    if not isinstance(image, UploadedFile):
        raise HTTPBadRequest(reason="the image is not a DEEPaaS UploadedFile")
    if kwargs["accept"] == "image/*":
        return open(image.filename, "rb")  # noqa: SIM115 - DEEPaaS models do this
    return {
        "label": CONFIG["label"],
        "threshold": kwargs["threshold"],
        "original_filename": image.original_filename,
    }
