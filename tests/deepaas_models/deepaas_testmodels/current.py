"""``deepaas-class``: a class in DEEPaaS 2.x style, valid on marshmallow 3 and 4."""

import pathlib

from aiohttp.web import HTTPBadRequest
from marshmallow import Schema
from webargs import fields, validate

RED_PNG = pathlib.Path(__file__).with_name("red.png")  # a 1x1 red image


def uploaded_file_is_deepaas(value):
    """Whether ``value`` is DEEPaaS's own UploadedFile (None when DEEPaaS is not installed)."""
    try:
        from deepaas.model.v2.wrapper import UploadedFile
    except ImportError:
        return None
    return isinstance(value, UploadedFile)


class Description(Schema):
    """What ``predict`` says about the image, as JSON."""

    name = fields.Str(required=True, metadata={"description": "The argument name"})
    original_filename = fields.Str(required=True)
    content_type = fields.Str(required=True)
    size = fields.Int(required=True)
    deepaas_uploaded_file = fields.Bool(
        required=True,
        allow_none=True,
        metadata={"description": "isinstance of DEEPaaS's UploadedFile (null: not installed)"},
    )
    style = fields.Str(required=True)


class ImageModel:
    """Returns the uploaded image (as an open file), some image, or a description of it."""

    schema = Description

    def get_metadata(self):
        """Return the model metadata."""
        return {
            "name": "deepaas-class",
            "description": "A DEEPaaS model written as a class.",
            "author": "deepserve developers",
            "version": "0.2",
        }

    def get_predict_args(self):
        """A file, a choice (documented by enum only), a failure switch and ``accept``."""
        return {
            "image": fields.Field(
                required=True,
                metadata={
                    "description": "The image to process.",
                    "type": "file",
                    "location": "form",
                },
            ),
            "style": fields.Str(
                load_default="plain",
                metadata={"description": "A style.", "enum": ["plain", "fancy"]},
            ),
            "fail": fields.Str(
                load_default="no",
                validate=validate.OneOf(["no", "client", "unsupported", "crash"]),
                metadata={"description": "How to fail, the DEEPaaS way."},
            ),
            "accept": fields.Str(
                metadata={
                    "description": "Media type(s) that is/are acceptable for the response.",
                    "location": "headers",
                    "enum": ["application/json", "image/*", "application/octet-stream"],
                },
            ),
        }

    def get_train_args(self):
        """Whether to fail, the DEEPaaS way."""
        return {"fail": fields.Bool(load_default=False)}

    def train(self, **kwargs):
        """Fail with an HTTP error (DEEPaaS leaves such a job running for ever), or succeed."""
        if kwargs["fail"]:
            raise HTTPBadRequest(reason="no training data")
        return {"trained": True}

    def predict(self, **kwargs):
        """Answer in the media type ``accept``."""
        image = kwargs["image"]
        if kwargs["fail"] == "client":
            raise HTTPBadRequest(reason="the image is too dark")
        if kwargs["fail"] == "unsupported":
            raise NotImplementedError("not for this kind of image")
        if kwargs["fail"] == "crash":
            raise RuntimeError("out of memory")
        if kwargs["accept"] == "image/*":
            return open(RED_PNG, "rb")  # noqa: SIM115 - DEEPaaS models do this
        if kwargs["accept"] == "application/octet-stream":
            return open(image.filename, "rb")  # noqa: SIM115 - DEEPaaS models do this
        with open(image.filename, "rb") as f:
            size = len(f.read())
        return {
            "name": image.name,
            "original_filename": image.original_filename,
            "content_type": image.content_type,
            "size": size,
            "deepaas_uploaded_file": uploaded_file_is_deepaas(image),
            "style": kwargs["style"],
        }
