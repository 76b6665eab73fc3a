"""Argument declarations turned, once at start-up, into a loading schema and Swagger parameters.

Every entry (HTTP, the CLI, training jobs) loads arguments through :meth:`ArgumentSpec.load`
or the same schema, so the same values are accepted and the same errors reported everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from apispec.ext.marshmallow import OpenAPIConverter
from marshmallow import Schema, ValidationError, fields, missing, validates_schema

from .errors import ArgumentError
from .model import UploadedFile, is_file_field

# Swagger 2.0 allows these keys in a non-body parameter; other JSON-schema keys are moved to x-*.
_PARAMETER_KEYS = frozenset(
    "name in description required type format items collectionFormat default maximum "
    "exclusiveMaximum minimum exclusiveMinimum maxLength minLength pattern maxItems minItems "
    "uniqueItems enum multipleOf allowEmptyValue".split()
)
_IGNORED_METADATA = frozenset({"location"})  # DEEPaaS's per-field location has no meaning here
_FORM_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "file"})

# Inline nested schemas instead of registering named definitions: each model is self-contained.
_converter = OpenAPIConverter(openapi_version="2.0", schema_name_resolver=lambda _: None, spec=None)


def _metadata_extensions(
    converter: OpenAPIConverter, field: fields.Field, ret: dict, **kwargs: Any
) -> dict:
    """Metadata apispec leaves out (author hints such as ``ui``) as ``x-<key>`` extensions.

    Applies to argument parameters and response schemas alike, so the GUI finds its hints in both.
    """
    return {
        f"x-{key}": value
        for key, value in field.metadata.items()
        if isinstance(key, str)
        and key not in ret
        and key not in _IGNORED_METADATA
        and not key.startswith(("x-", "x_"))
        and _is_json(value)
    }


_converter.add_attribute_function(_metadata_extensions)


class DeclarationError(ValueError):
    """A declaration (arguments or response schema) that cannot be served."""


class UploadsSchema(Schema):
    """Base of the argument schemas with file arguments: those given must be real uploads.

    A declared default passes as it is (DEEPaaS models often declare ``missing="None"``).
    """

    file_args: ClassVar[frozenset[str]] = frozenset()

    @validates_schema(pass_original=True)
    def _check_uploads(self, data: dict, original: Mapping, **kwargs: Any) -> None:
        errors = {
            name: ["Not a file upload."]
            for name in self.file_args
            if original.get(name, missing) not in (missing, None)
            and not isinstance(data.get(name), UploadedFile)
        }
        if errors:
            raise ValidationError(errors)


class ArgumentSpec:
    """The arguments of one model method: schema, file argument names, Swagger parameters."""

    def __init__(self, declared: Any, *, label: str, ignored: Iterable[str] = ()) -> None:
        """``ignored``: names a client may send that are dropped unless declared."""
        self.fields = check_fields(declared, label)
        self.file_args = frozenset(n for n, f in self.fields.items() if is_file_field(f))
        self.ignored = frozenset(ignored) - set(self.fields)
        if self.file_args:
            schema_class = UploadsSchema.from_dict(self.fields, name=label)
            schema_class.file_args = self.file_args
        else:  # a schema hook costs on every load: only schemas with file arguments have one
            schema_class = Schema.from_dict(self.fields, name=label)
        self.schema: Schema = schema_class()
        self.parameters = {param["name"]: param for param in _form_parameters(self.schema)}

    def load(self, data: Mapping) -> dict:
        """Validate and deserialise ``data``; raises :class:`ArgumentError` (422)."""
        if not self.ignored.isdisjoint(data):
            data = {name: data[name] for name in data if name not in self.ignored}
        try:
            return self.schema.load(data)
        except ValidationError as error:
            raise ArgumentError(error.normalized_messages()) from error


def check_fields(declared: Any, label: str) -> dict[str, fields.Field]:
    """Return ``declared`` if it is a dict of marshmallow field instances, else explain why not."""
    if not isinstance(declared, Mapping):
        raise DeclarationError(
            f"{label} must be a dict of marshmallow fields, got {type(declared).__name__}"
        )
    for name, field in declared.items():
        if not isinstance(name, str) or not name:
            raise DeclarationError(f"{label}: argument name {name!r} is not a non-empty string")
        if isinstance(field, type) and issubclass(field, fields.Field):
            raise DeclarationError(
                f"{label}: '{name}' is the class {field.__name__}, not a field instance "
                f"(write {field.__name__}())"
            )
        if not isinstance(field, fields.Field):
            raise DeclarationError(
                f"{label}: '{name}' is {type(field).__name__}, not a marshmallow field"
            )
    return dict(declared)


def response_schema(declared: Any, label: str) -> Schema | None:
    """Normalise a model's response ``schema`` (class, instance, dict of fields or None)."""
    if declared is None:
        return None
    if isinstance(declared, Schema):
        schema = declared
    elif isinstance(declared, type) and issubclass(declared, Schema):
        schema = declared()
    elif isinstance(declared, Mapping):
        schema = Schema.from_dict(check_fields(declared, label), name=label)()
    else:
        raise DeclarationError(
            f"{label} must be a marshmallow Schema or a dict of fields, got "
            f"{type(declared).__name__}"
        )
    json_schema(schema)  # fails here, at load time, if it cannot be documented
    return schema


def json_schema(schema: Schema) -> dict:
    """The JSON schema (Swagger 2.0 flavour) of a marshmallow schema, nested schemas inlined."""
    return _converter.schema2jsonschema(schema)


def _form_parameters(schema: Schema) -> list[dict]:
    """Swagger 2.0 ``formData`` parameters, one per argument."""
    parameters = []
    by_key = {field.data_key or name: field for name, field in schema.fields.items()}
    for param in _converter.schema2parameters(schema, location="formData"):
        if is_file_field(by_key[param["name"]]):
            param = {
                key: value
                for key, value in param.items()
                if key in ("name", "in", "description", "required") or key.startswith("x-")
            }
            param["type"] = "file"
        parameters.append(_swagger2_parameter(param))
    return parameters


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _swagger2_parameter(param: dict) -> dict:
    """Keep the keys Swagger 2.0 allows; types a form cannot carry are documented as strings.

    A form field is always a string: it cannot be null (leaving it out is how to send
    nothing), and a required list cannot be empty (an empty list sends no field at all).
    """
    clean = {}
    for key, value in param.items():
        if key in ("readOnly", "title", "x-nullable"):
            continue
        clean[key if key in _PARAMETER_KEYS or key.startswith("x-") else f"x-{key}"] = value
    if clean.get("type") not in _FORM_TYPES:
        clean["type"] = "string"
        clean.pop("format", None)
    if clean.get("default", "") is None:
        del clean["default"]
    if clean.get("required") and clean["type"] == "array":
        clean.setdefault("minItems", 1)
    return clean
