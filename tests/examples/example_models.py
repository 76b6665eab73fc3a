"""Helpers for the example models' tests: the installed model, its train arguments, ..."""

from __future__ import annotations

import contextlib
import importlib.metadata
from collections.abc import Iterator

import numpy as np
import pandas as pd
from PIL import Image

from deepserve.jobs.store import FINISHED
from deepserve.loading import discover
from deepserve.progress import set_reporter


def installed_model(name: str):
    """A new instance of the model installed under the entry point ``name``."""
    (entry_point,) = importlib.metadata.entry_points(group="deepserve.model", name=name)
    return entry_point.load()()


def train_args(name: str, **data) -> dict:
    """``data`` loaded by the train argument schema deepserve builds for model ``name``."""
    (record,) = discover([name]).models
    return record.train_args.load(data)


def write_csv(path, series: pd.Series) -> str:
    """Write a load ``series`` as a ``time,load`` CSV file; return its path."""
    frame = pd.DataFrame({"time": series.index.strftime("%Y-%m-%dT%H:%M"), "load": series})
    frame.to_csv(path, index=False)
    return str(path)


def save(path, array: np.ndarray, **options) -> str:
    """Write an image ``array`` (the format from the file name); return its path."""
    Image.fromarray(array).save(path, **options)
    return str(path)


def upload(path: str, name: str = "upload"):
    """A file part for the Flask test client (which closes it)."""
    return (open(path, "rb"), name)  # noqa: SIM115


@contextlib.contextmanager
def recorded_reports() -> Iterator[list[tuple]]:
    """Collect the ``(progress, metrics, message)`` that ``deepserve.report`` receives."""
    reports: list[tuple] = []
    set_reporter(lambda progress, metrics, message: reports.append((progress, metrics, message)))
    try:
        yield reports
    finally:
        set_reporter(None)


def submit_training(client, name: str, **request) -> dict:
    """POST a training job of model ``name`` with the test ``client`` (``request``: ``json=``
    or ``data=``); return the job, checking the answer is 202."""
    response = client.post(f"/v2/models/{name}/train/", **request)
    assert response.status_code == 202, response.json
    return response.json


def finished_job(client, wait, job: dict, timeout: float = 120) -> dict:
    """``job`` once it has finished (done, error, ...), read through its ``self`` link."""
    (url,) = [link["href"] for link in job["links"] if link["rel"] == "self"]
    return wait(lambda: (now := client.get(url).json)["status"] in FINISHED and now, timeout)


def job_log(client, job: dict) -> str:
    """The log of ``job``, read through its ``log`` link."""
    (url,) = [link["href"] for link in job["links"] if link["rel"] == "log"]
    with client.get(url) as response:  # a streamed file: closed by the with
        assert response.status_code == 200
        return response.text
