"""A Python client of deepserve servers: ``Client("http://host:5000").predict("iris", ...)``."""

from .client import BinaryResult, Client
from .errors import ClientError
from .jobs import Job

__all__ = ["BinaryResult", "Client", "ClientError", "Job"]
