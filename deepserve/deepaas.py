"""Serve DEEPaaS v2 models unchanged: everything deepserve knows about DEEPaaS lives here.

DEEPaaS models declare entry points in the ``deepaas.v2.model`` group and differ from
deepserve models in a few conventions, which :class:`DeepaasModel` translates:

- the output type is chosen by an ``accept`` predict argument (its choices are the media types),
  not by ``predict_media_types``; its value comes from the ``Accept`` header when the field says
  ``location: headers``, else (as in DEEPaaS) from the query string or the form;
- the predict answer is the model's output as it is, validated against the response schema the
  way DEEPaaS (marshmallow 3) validated it;
- files arrive as DEEPaaS's own ``UploadedFile`` namedtuple when DEEPaaS is installed;
- the model may raise aiohttp's HTTP exceptions (``HTTPBadRequest``) to answer a client error,
  or ``NotImplementedError`` for something it does not do;
- argument declarations may use marshmallow 3's keyword arguments (``missing=``,
  ``description=``, ``type="file"``), which marshmallow 4 removed.
"""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from collections.abc import Iterator, Mapping
from importlib import import_module, metadata
from typing import Any

from marshmallow import fields, validate

from .arguments import DeclarationError
from .errors import APIError, NotSupported
from .model import UploadedFile
from .record import is_media_type

log = logging.getLogger("deepserve")

GROUP = "deepaas.v2.model"
DOCS = "docs/deepaas.md"
ACCEPT = "accept"
#: The local version label of deepserve's ``deepaas`` compatibility package.
COMPAT_LABEL = "+deepserve"

_UNEXPECTED_KEYWORD = re.compile(
    r"(?:(\w+)\.)?__init__\(\) got an unexpected keyword argument '(\w+)'"
)


class DeepaasModel:
    """A DEEPaaS v2 model (module, instance or class instance) behind deepserve's contract."""

    def __init__(self, target: Any, name: str) -> None:
        if not callable(getattr(target, "predict", None)):
            raise DeclarationError("missing or non-callable required member 'predict'")
        self.target = target
        self.name = name
        self.schema = getattr(target, "schema", None)
        declared = _optional_args(target, "get_predict_args")
        self._predict_args = declared
        self.predict_media_types: tuple[str, ...] = ("application/json",)
        self._has_accept = isinstance(declared, Mapping) and ACCEPT in declared
        #: Whether ``accept`` is a predict argument sent as a field (not the Accept header).
        self.accept_is_field = False
        if self._has_accept:
            self._predict_args = {k: v for k, v in declared.items() if k != ACCEPT}
            self.predict_media_types = accept_media_types(declared[ACCEPT])
            if declared[ACCEPT].metadata.get("location") != "headers":
                self.accept_is_field = True
                self._predict_args[ACCEPT] = accept_field(
                    declared[ACCEPT], self.predict_media_types
                )
        self._uploaded_file = deepaas_uploaded_file_class()
        if callable(getattr(target, "train", None)):  # only then is training offered
            self.train = self._train

    def get_metadata(self) -> Any:
        """The model's metadata (DEEPaaS serves models without ``get_metadata`` too)."""
        if not callable(getattr(self.target, "get_metadata", None)):
            return {"name": self.name, "description": f"DEEPaaS model {self.name}"}
        return self.target.get_metadata()

    def get_predict_args(self) -> Any:
        """The predict arguments; ``accept`` only when it is sent as a field (else deepserve
        negotiates the media type from the Accept header)."""
        return self._predict_args

    def get_train_args(self) -> Any:
        """The training arguments (none when the model does not declare them)."""
        return _optional_args(self.target, "get_train_args")

    def predict(self, **kwargs: Any) -> Any:
        """Call the model's ``predict``; ``accept`` is the negotiated media type."""
        if self._has_accept:
            kwargs.setdefault(ACCEPT, self.predict_media_types[0])
        return self._invoke("predict", kwargs)

    def _train(self, **kwargs: Any) -> Any:
        return self._invoke("train", kwargs)

    def warm(self) -> None:
        """Run the model's ``warm``, if it has one that is implemented."""
        if callable(getattr(self.target, "warm", None)):
            with contextlib.suppress(NotImplementedError):
                self.target.warm()

    def _invoke(self, method: str, kwargs: dict) -> Any:
        if self._uploaded_file is not None:
            kwargs = {name: self._deepaas_file(value) for name, value in kwargs.items()}
        try:
            return getattr(self.target, method)(**kwargs)
        except NotImplementedError as error:  # DEEPaaS answers 501 to this
            raise NotSupported(self.name, method, str(error)) from error
        except Exception as error:
            answer = client_error(error)
            if answer is None:
                raise
            raise answer from error

    def _deepaas_file(self, value: Any) -> Any:
        if not isinstance(value, UploadedFile):
            return value
        return self._uploaded_file(
            name=value.name,
            filename=value.filename,
            content_type=value.content_type,
            original_filename=value.original_filename,
        )


def adapt(target: Any, name: str) -> DeepaasModel:
    """Wrap a loaded ``deepaas.v2.model`` entry point (module or instance) for deepserve."""
    return DeepaasModel(target, name)


def accept_media_types(field: Any) -> tuple[str, ...]:
    """The media types an ``accept`` argument offers, the default (as in DEEPaaS: the first
    choice) first.

    DEEPaaS reads them from ``validate=OneOf([...])``; ``metadata={"enum": [...]}`` works too.
    """
    if not isinstance(field, fields.Field):
        raise DeclarationError(f"'{ACCEPT}' is {type(field).__name__}, not a marshmallow field")
    choices: list = []
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            choices = list(validator.choices)
    choices = choices or list(field.metadata.get("enum") or ())
    choices = [choice for choice in choices if choice != "*/*"]  # DEEPaaS adds */* itself
    if not choices:
        raise DeclarationError(
            f"the '{ACCEPT}' predict argument must list the media types predict can return, "
            "with validate=OneOf([...]) or metadata={'enum': [...]}"
        )
    types = tuple(dict.fromkeys(choices))  # the first is the default, whatever load_default
    for media_type in types:
        if not is_media_type(media_type):
            raise DeclarationError(
                f"the '{ACCEPT}' predict argument offers {media_type!r}, which is not a "
                "media type like 'image/png' or 'image/*'"
            )
    return types


def accept_field(declared: fields.Field, media_types: tuple[str, ...]) -> fields.Field:
    """``accept`` as DEEPaaS reads it from the query or the form: one of the media types or
    ``*/*`` (a JSON answer), the first media type by default."""
    choices = [*media_types, "*/*"]
    # DEEPaaS's message names the model's choices, not the */* it adds
    error = "Must be one of: " + ", ".join(media_types) + "."
    return fields.String(
        load_default=media_types[0],
        validate=validate.OneOf(choices, error=error.replace("{", "{{").replace("}", "}}")),
        metadata={**declared.metadata, "enum": choices},
    )


def _optional_args(target: Any, getter: str) -> Any:
    """Arguments from ``getter``; DEEPaaS treats a missing or unimplemented getter as none."""
    if not callable(getattr(target, getter, None)):
        return {}
    try:
        return getattr(target, getter)()
    except NotImplementedError:
        return {}


def installed_deepaas() -> str | None:
    """The version of the installed ``deepaas`` distribution (DEEPaaS or deepserve's stand-in)."""
    try:
        return metadata.version("deepaas")
    except metadata.PackageNotFoundError:
        return None


def is_compat(version: str) -> bool:
    """Whether a ``deepaas`` version is deepserve's compatibility package (``compat/deepaas``)."""
    return version.endswith(COMPAT_LABEL)


def deepaas_uploaded_file_class() -> type | None:
    """DEEPaaS's own ``UploadedFile`` when DEEPaaS is installed (models may isinstance it)."""
    try:
        wrapper = import_module("deepaas.model.v2.wrapper")
    except Exception:  # not installed, or its own dependencies fail to import
        return None
    return getattr(wrapper, "UploadedFile", None)


def client_error(error: Exception) -> APIError | None:
    """An aiohttp HTTP error raised by a model (DEEPaaS's ``HTTPBadRequest``) as our answer."""
    if not type(error).__module__.startswith("aiohttp."):
        return None
    status = getattr(error, "status", None)
    if not isinstance(status, int) or not 400 <= status < 600:
        return None
    return APIError(status, str(getattr(error, "reason", None) or error))


@contextlib.contextmanager
def legacy_fields_logged(name: str) -> Iterator[None]:
    """Let a DEEPaaS model use marshmallow 3's deprecated conventions; log them once.

    On marshmallow 3 these are deprecation warnings (an error under ``-W error``), which the
    model's author did not ask for and its operator cannot fix; on marshmallow 4 they fail
    (see :func:`legacy_hint`).
    """
    category = _marshmallow4_warning()
    if category is None:
        yield
        return
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", category)
            yield
    finally:
        _report(name, category, caught)


def _report(name: str, category: type[Warning], caught: list[warnings.WarningMessage]) -> None:
    """Log the legacy warnings once; pass the others on to the warning filters."""
    legacy = [str(w.message) for w in caught if issubclass(w.category, category)]
    if legacy:
        # One line: the kinds of convention, not the field-specific detail of each warning.
        kinds = sorted({" ".join(m.split(" Additional metadata:")[0].split()) for m in legacy})
        log.warning(
            "model %r uses marshmallow 3 conventions that marshmallow 4 removed, in %d places "
            "(fine on marshmallow 3; see %s): %s",
            name,
            len(legacy),
            DOCS,
            " | ".join(kinds),
        )
    for w in caught:
        if not issubclass(w.category, category):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def _marshmallow4_warning() -> type[Warning] | None:
    try:
        return import_module("marshmallow.warnings").Marshmallow4Warning
    except (ImportError, AttributeError):  # marshmallow 4 has no such warnings
        return None


def load_hint(error: BaseException) -> str:
    """What to do about an error that stopped a model from loading, when deepserve knows."""
    return legacy_hint(error) or missing_deepaas_hint(error)


def missing_deepaas_hint(error: BaseException) -> str:
    """Where DEEPaaS's import paths come from, when a model misses them."""
    name = getattr(error, "name", None) or ""
    if not isinstance(error, ModuleNotFoundError) or name.split(".")[0] != "deepaas":
        return ""
    return (
        " (DEEPaaS models import 'deepaas': install deepserve's compatibility package "
        f"'deepaas', or the model with 'deepserve install'; see {DOCS})"
    )


def legacy_hint(error: BaseException) -> str:
    """Why ``error`` happened, when it is a marshmallow 3 keyword that marshmallow 4 removed."""
    match = _UNEXPECTED_KEYWORD.search(str(error)) if isinstance(error, TypeError) else None
    if match is None or int(metadata.version("marshmallow").split(".")[0]) < 4:
        return ""
    owner, keyword = match.groups()
    owner_class = getattr(fields, owner or "", None)
    if owner is not None and not (
        isinstance(owner_class, type) and issubclass(owner_class, fields.Field)
    ):
        return ""
    return (
        f" ('{keyword}=' is a marshmallow 3 field keyword that marshmallow "
        f"{metadata.version('marshmallow')} no longer accepts: install 'marshmallow<4' for "
        f"this model, or move the keyword into metadata={{...}}; see {DOCS})"
    )
