"""Argument declarations turned into Swagger 2.0 parameters and a loading schema."""

from __future__ import annotations

import pytest
from marshmallow import fields, validate

from deepserve.arguments import ArgumentSpec, DeclarationError, json_schema, response_schema
from deepserve.errors import ArgumentError
from deepserve.model import File, UploadedFile


def spec(**declared):
    return ArgumentSpec(declared, label="test args")


def test_parameters_document_type_default_range_choices_and_description():
    params = spec(
        n=fields.Int(
            load_default=3, validate=validate.Range(1, 9), metadata={"description": "how many"}
        ),
        kind=fields.Str(required=True, validate=validate.OneOf(["a", "b"])),
        when=fields.Date(),
        xs=fields.List(fields.Float()),
    ).parameters
    assert params["n"] == {
        "in": "formData",
        "name": "n",
        "type": "integer",
        "default": 3,
        "minimum": 1,
        "maximum": 9,
        "description": "how many",
        "required": False,
    }
    assert params["kind"]["enum"] == ["a", "b"] and params["kind"]["required"] is True
    assert (params["when"]["type"], params["when"]["format"]) == ("string", "date")
    assert params["xs"]["items"] == {"type": "number"}
    assert params["xs"]["collectionFormat"] == "multi"


def test_file_arguments_are_formdata_files():
    params = spec(
        a=File(required=True, metadata={"description": "an image"}),
        b=fields.Field(metadata={"type": "file"}),
    ).parameters
    assert params["a"] == {
        "in": "formData",
        "name": "a",
        "type": "file",
        "required": True,
        "description": "an image",
    }
    assert params["b"]["type"] == "file"


def test_unrepresentable_types_become_strings_and_extra_metadata_x_keys():
    params = spec(
        obj=fields.Dict(metadata={"ui": "textarea", "example": {"k": 1}}),
    ).parameters
    assert params["obj"]["type"] == "string"
    assert params["obj"]["x-ui"] == "textarea"
    assert params["obj"]["x-example"] == {"k": 1}


def test_load_reports_every_problem_per_argument():
    with pytest.raises(ArgumentError) as raised:
        spec(n=fields.Int(required=True), m=fields.Int()).load({"m": "x", "zz": 1})
    assert raised.value.code == 422
    assert set(raised.value.data["errors"]) == {"n", "m", "zz"}


def test_file_arguments_only_accept_uploads(tmp_path):
    files = spec(f=fields.Field(metadata={"type": "file"}))
    with pytest.raises(ArgumentError) as raised:
        files.load({"f": "/etc/passwd"})
    assert raised.value.data["errors"] == {"f": ["Not a file upload."]}
    upload = UploadedFile("f", str(tmp_path / "x"), "text/plain", "x.txt")
    assert files.load({"f": upload}) == {"f": upload}


@pytest.mark.parametrize(
    "declared, message",
    [
        ([], "must be a dict of marshmallow fields, got list"),
        ({"x": int}, "'x' is type, not a marshmallow field"),
        ({"x": fields.Int}, "is the class Integer, not a field instance"),
        ({"": fields.Int()}, "is not a non-empty string"),
    ],
)
def test_bad_declarations_are_explained(declared, message):
    with pytest.raises(DeclarationError, match=".*") as raised:
        ArgumentSpec(declared, label="m predict args")
    assert message in str(raised.value)


def test_response_schema_accepts_dicts_classes_and_instances():
    from marshmallow import Schema

    class Out(Schema):
        x = fields.Int()

    assert response_schema(None, "s") is None
    assert isinstance(response_schema(Out, "s"), Out)
    assert response_schema({"x": fields.Int()}, "s").load({"x": "3"}) == {"x": 3}
    with pytest.raises(DeclarationError):
        response_schema("nope", "s")


def test_file_arguments_keep_their_hints():
    params = spec(picture=File(metadata={"ui": "image", "location": "form"})).parameters
    assert params["picture"] == {
        "name": "picture",
        "in": "formData",
        "required": False,
        "type": "file",
        "x-ui": "image",
    }


def test_response_schema_fields_carry_hints_but_not_unserialisable_metadata():
    schema = response_schema(
        {
            "curve": fields.List(fields.Float(), metadata={"ui": "plot", "description": "y"}),
            "raw": fields.Str(metadata={"x_unit": "cm", "callback": print}),
        },
        "test schema",
    )
    properties = json_schema(schema)["properties"]
    assert properties["curve"] == {
        "type": "array",
        "items": {"type": "number"},
        "description": "y",
        "x-ui": "plot",
    }
    assert properties["raw"] == {"type": "string", "x-unit": "cm"}
