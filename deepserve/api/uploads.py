"""Uploaded files are streamed straight to a private per-request directory and removed after."""

from __future__ import annotations

import mimetypes
import shutil
import tempfile

import flask
from werkzeug.datastructures import FileStorage
from werkzeug.formparser import FormDataParser

from ..errors import APIError
from ..model import UploadedFile


class StreamingRequest(flask.Request):
    """A request whose file parts are written to disk as they arrive, never held in memory,
    and removed when the request is closed (Flask closes each request once answered).

    A form body that cannot be parsed (a multipart body cut short, without its closing
    boundary) is a 400, where werkzeug would silently give an empty or partial form; an empty
    body is an empty form.
    """

    upload_dir: str | None = None
    #: Set while a streamed answer, which outlives its view, may still read the files.
    uploads_kept = False

    def make_form_data_parser(self) -> FormDataParser:
        parser = super().make_form_data_parser()
        parser.silent = self.content_length == 0
        return parser

    def _load_form_data(self) -> None:
        try:
            super()._load_form_data()
        except ValueError as error:
            raise APIError(400, f"The form body is malformed or incomplete: {error}") from error

    def _get_file_stream(
        self, total_content_length, content_type, filename=None, content_length=None
    ):
        if self.upload_dir is None:
            self.upload_dir = tempfile.mkdtemp(prefix="deepserve-upload-")  # mode 0700
        return tempfile.NamedTemporaryFile(dir=self.upload_dir, prefix="part-", delete=False)

    def close(self) -> None:
        """Close and delete every file this request stored (unless a stream still runs)."""
        super().close()
        if not self.uploads_kept:
            self.remove_uploads()

    def remove_uploads(self) -> None:
        """Delete every file this request stored."""
        if self.upload_dir is not None:
            shutil.rmtree(self.upload_dir, ignore_errors=True)
            self.upload_dir = None


def stored_file(name: str, content: bytes) -> UploadedFile:
    """``content`` stored as an upload of the current request (removed with the others)."""
    request = flask.request
    if request.upload_dir is None:
        request.upload_dir = tempfile.mkdtemp(prefix="deepserve-upload-")
    with tempfile.NamedTemporaryFile(dir=request.upload_dir, prefix="part-", delete=False) as f:
        f.write(content)
    return UploadedFile(
        name=name, filename=f.name, content_type="application/octet-stream", original_filename=""
    )


def uploaded_file(name: str, storage: FileStorage) -> UploadedFile:
    """Describe a stored upload for the model (the client's file name is never used as a path)."""
    original = storage.filename or ""
    content_type = (
        storage.mimetype or mimetypes.guess_type(original)[0] or "application/octet-stream"
    )
    return UploadedFile(
        name=name,
        filename=storage.stream.name,
        content_type=content_type,
        original_filename=original,
    )


def init_app(app: flask.Flask) -> None:
    """Use the streaming request class."""
    app.request_class = StreamingRequest
