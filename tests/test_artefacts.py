"""deepserve.artefacts: versions saved atomically, the newest picked up by other stores."""

from __future__ import annotations

import json
import os

import pytest

from deepserve.artefacts import DEFAULT_VERSION, POINTER, ArtefactStore


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPSERVE_DATA_DIR", str(tmp_path))
    return tmp_path


def stored_files(data_dir) -> list[str]:
    return sorted(os.listdir(data_dir / "models" / "demo"))


def test_nothing_saved(data_dir):
    assert ArtefactStore("demo").latest() is None
    with pytest.raises(LookupError, match="demo"):
        ArtefactStore("demo").current()


def test_save_then_latest(data_dir):
    store = ArtefactStore("demo")
    version = store.save({"weights": [1, 2, 3]}, info={"loss": 0.5})
    latest = store.latest()
    assert latest.version == version
    assert latest.value == {"weights": [1, 2, 3]}
    assert latest.info == {"loss": 0.5}
    assert stored_files(data_dir) == sorted([POINTER, f"{version}.pickle"])
    pointer = json.loads((data_dir / "models" / "demo" / POINTER).read_text())
    assert pointer["version"] == version


def test_another_store_sees_each_new_version(data_dir):
    reader = ArtefactStore("demo")
    writer = ArtefactStore("demo")
    first = writer.save("one")
    assert reader.latest().value == "one"
    second = writer.save("two")
    assert second > first  # versions sort in the order they were saved
    assert (reader.latest().version, reader.latest().value) == (second, "two")


def test_unchanged_pointer_is_not_read_again(data_dir):
    store = ArtefactStore("demo")
    store.save(["value"])
    loaded = store.latest()
    assert store.latest() is loaded
    ArtefactStore("demo").save(["value"])
    assert store.latest() is not loaded


def test_default_is_built_once_and_replaced_by_a_saved_version(data_dir):
    built = []

    def build():
        built.append(1)
        return "the default"

    store = ArtefactStore("demo", default=build)
    assert (store.current().version, store.current().value) == (DEFAULT_VERSION, "the default")
    assert built == [1]
    version = ArtefactStore("demo").save("trained")
    assert (store.current().version, store.current().value) == (version, "trained")


def test_a_failed_save_keeps_the_previous_version_and_leaves_nothing(data_dir):
    store = ArtefactStore("demo")
    version = store.save("kept")
    before = stored_files(data_dir)
    with pytest.raises(Exception, match="pickle"):
        store.save(lambda: None)  # not picklable
    assert stored_files(data_dir) == before
    assert ArtefactStore("demo").latest().version == version


def test_follows_the_data_directory(data_dir, tmp_path_factory, monkeypatch):
    store = ArtefactStore("demo")
    store.save("here")
    monkeypatch.setenv("DEEPSERVE_DATA_DIR", str(tmp_path_factory.mktemp("other")))
    assert store.latest() is None
