"""The model contract: what a model author implements, and what their model receives."""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar

from marshmallow import ValidationError, fields

from .batching import DEFAULT_MAX_SIZE, DEFAULT_MAX_WAIT_MS

JSON = "application/json"


@dataclasses.dataclass(frozen=True)
class UploadedFile:
    """A file argument as the model receives it.

    ``filename`` is the path of the file on local disk; the file is removed when the
    request (or training job) that brought it ends, so copy it if you need it later.
    """

    name: str
    filename: str
    content_type: str
    original_filename: str

    def open(self, mode: str = "rb"):
        """Open the uploaded file (binary by default)."""
        return open(self.filename, mode)


class File(fields.Field):
    """An uploaded file argument: reaches the model as an :class:`UploadedFile`.

    Equivalent to ``fields.Field(metadata={"type": "file"})``.
    """

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"type": "file", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, UploadedFile):
            raise ValidationError("Not a file upload.")
        return value


def is_file_field(field: fields.Field) -> bool:
    """Whether ``field`` declares an uploaded file (a :class:`File` or ``type: file`` metadata)."""
    return isinstance(field, File) or field.metadata.get("type") == "file"


class BaseModel(abc.ABC):
    """What a deepserve model implements.

    Subclassing is optional: any class, instance or module with the same members is served.
    Optional members left as defined here mean "not supported" (the API answers 501).
    """

    #: Response schema of ``predict``: a marshmallow ``Schema`` (class or instance), a dict
    #: of fields, or ``None`` for ``{"status": "OK", "predictions": <output>}``.
    schema: ClassVar[Any] = None

    #: Media types ``predict`` can produce, chosen by the request's ``Accept`` header. With
    #: more than one, ``predict`` receives the chosen one as the ``accept`` keyword argument.
    #: A range such as ``image/*`` is answered with the type of the returned file's name.
    predict_media_types: ClassVar[tuple[str, ...]] = (JSON,)

    #: Whether ``predict`` (and the other methods) may run in several threads at once. If not,
    #: deepserve calls the model from one thread at a time (a lock per model).
    thread_safe: ClassVar[bool] = False

    #: With ``predict_batch``: the most requests in one call, and how long (ms) the first of
    #: them may wait for more while other requests are on their way. ``--batch`` overrides them.
    max_batch_size: ClassVar[int] = DEFAULT_MAX_SIZE
    max_batch_wait_ms: ClassVar[float] = DEFAULT_MAX_WAIT_MS

    @abc.abstractmethod
    def get_metadata(self) -> dict:
        """JSON-serialisable metadata: name, description, version, author, license, url, ..."""

    @abc.abstractmethod
    def get_predict_args(self) -> dict[str, fields.Field]:
        """The arguments of ``predict`` as marshmallow fields, by argument name."""

    @abc.abstractmethod
    def predict(self, **kwargs: Any) -> Any:
        """Predict: JSON-able data, or bytes / a file object / a path for binary media types."""

    def predict_batch(self, batch: list[dict[str, Any]]) -> list[Any]:
        """Predict for several requests in one call: ``batch`` holds each request's ``predict``
        keyword arguments; return one output per request, in order. An exception in place of
        an output fails that request alone. Not used unless overridden (then deepserve calls it
        instead of ``predict``, with concurrent requests)."""
        raise NotImplementedError

    def warm(self) -> None:
        """Prepare for serving (load weights, ...); runs once per serving process."""

    def get_train_args(self) -> dict[str, fields.Field]:
        """The arguments of ``train``."""
        return {}

    def train(self, **kwargs: Any) -> Any:
        """Train the model; returns a JSON-able result. Not supported unless overridden."""
        raise NotImplementedError

    def get_validate_args(self) -> dict[str, fields.Field]:
        """The arguments of ``validate``."""
        return {}

    def validate(self, **kwargs: Any) -> Any:
        """Evaluate the model on user data; returns JSON-able data. Not supported unless
        overridden."""
        raise NotImplementedError
