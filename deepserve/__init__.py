"""deepserve: serve machine-learning models over a REST API."""

import logging

from .model import BaseModel, File, UploadedFile

logging.getLogger("deepserve").addHandler(logging.NullHandler())

__version__ = "0.1.0"

__all__ = ["BaseModel", "File", "UploadedFile", "__version__"]
