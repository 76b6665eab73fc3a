"""Fixtures of the example models' tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A fresh data directory, where trained versions go."""
    monkeypatch.setenv("DEEPSERVE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"
