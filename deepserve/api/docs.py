"""Swagger response models shared by every namespace."""

from __future__ import annotations

from flask_restx import Api, fields

LINK = {
    "type": "object",
    "properties": {"rel": {"type": "string"}, "href": {"type": "string"}},
}


def copy_parameters(parameters: dict) -> dict:
    """Flask-RESTX edits parameter dicts in place; give it its own."""
    return {name: dict(param) for name, param in parameters.items()}


#: The 400 of an operation that reads a body: JSON that cannot be parsed (or nested too deep,
#: or with too long a number), a multipart form cut short.
MALFORMED_BODY = "The body is malformed: JSON that cannot be read, a form cut short"


def error_model(api: Api):
    """The JSON error envelope every route answers with."""
    return api.schema_model(
        "Error",
        {
            "type": "object",
            "required": ["message"],
            "properties": {
                "message": {"type": "string"},
                "errors": {
                    "type": "object",
                    "description": "per-argument messages (422) or per-field schema violations",
                },
                "available": {"type": "array", "items": {"type": "string"}},
            },
        },
    )


def metadata_model(api: Api):
    """A model's metadata with its id and links; extra metadata keys pass through."""
    return api.schema_model(
        "ModelMetadata",
        {
            "type": "object",
            "required": ["id", "name", "links"],
            "properties": {
                "id": {"type": "string", "description": "the entry-point name used in URLs"},
                "name": {"type": "string"},
                "description": {"type": "string"},
                "version": {"type": "string"},
                "author": {"type": "string"},
                "license": {"type": "string"},
                "url": {"type": "string"},
                "links": {"type": "array", "items": LINK},
            },
            "additionalProperties": True,
        },
    )


def version_model(api: Api):
    """An API version object."""
    return api.model(
        "Version",
        {
            "id": fields.String(required=True, example="v2"),
            "version": fields.String(required=True, example="stable"),
            "links": fields.List(fields.Raw(example={"rel": "self", "href": "/v2/"})),
        },
    )
