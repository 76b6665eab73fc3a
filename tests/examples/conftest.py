"""Fixtures of the example models' tests."""

from __future__ import annotations

import pytest

from deepserve.api import create_app
from deepserve.paths import DATA_DIR_VARIABLE

#: The examples that train in a training job.
TRAINABLE = ("iris", "load-forecast", "cell-segmentation")


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A fresh data directory, where trained versions go."""
    monkeypatch.setenv("DEEPSERVE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture(scope="module")
def jobs_data_dir(tmp_path_factory):
    """One data directory for a test module's training jobs and the predictions after them:
    ``$DEEPSERVE_DATA_DIR`` points to it while the module runs."""
    path = tmp_path_factory.mktemp("jobs-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DATA_DIR_VARIABLE, str(path))
        yield path


@pytest.fixture(scope="module")
def jobs_client(discovery, jobs_data_dir):
    """A test client of the app, its training jobs recorded in ``jobs_data_dir``."""
    return create_app(discovery.models, data_dir=jobs_data_dir).test_client()


@pytest.fixture
def supervisor(start_supervisor, jobs_data_dir):
    """A supervisor running the trainable examples' jobs of ``jobs_data_dir`` during a test."""
    return start_supervisor("--data-dir", str(jobs_data_dir), *TRAINABLE)
