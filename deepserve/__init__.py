"""deepserve: serve machine-learning models over a REST API."""

import logging

from .model import BaseModel, File, UploadedFile
from .paths import model_dir
from .progress import report

logging.getLogger("deepserve").addHandler(logging.NullHandler())

__version__ = "0.1.0"

__all__ = ["BaseModel", "File", "UploadedFile", "model_dir", "report", "__version__"]
