"""``files``: file-upload arguments, both ``File`` and a DEEPaaS-style generic field."""

import hashlib
import os
from typing import ClassVar

from marshmallow import fields

from deepserve.model import BaseModel, File


class FilesModel(BaseModel):
    """Describes the uploaded files it receives and records their paths."""

    seen_paths: ClassVar[list[str]] = []

    def get_metadata(self):
        """Return the model metadata."""
        return {"name": "files", "description": "Describes uploaded files."}

    def get_predict_args(self):
        """Return a required file, an optional generic file and a note."""
        return {
            "data": File(required=True, metadata={"description": "any file"}),
            "extra": fields.Field(metadata={"type": "file"}, required=False, load_default=None),
            "note": fields.Str(load_default=""),
        }

    def predict(self, data, extra=None, note=""):
        """Read ``data`` from disk and describe it."""
        FilesModel.seen_paths.append(data.filename)
        if extra is not None:
            FilesModel.seen_paths.append(extra.filename)
        with open(data.filename, "rb") as f:
            content = f.read()
        return {
            "name": data.name,
            "original_filename": data.original_filename,
            "content_type": data.content_type,
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "path": data.filename,
            "exists": os.path.exists(data.filename),
            "extra_size": os.path.getsize(extra.filename) if extra else None,
            "note": note,
        }
