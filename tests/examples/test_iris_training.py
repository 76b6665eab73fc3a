"""Training the iris example: directly, and as a job of a real server."""

from __future__ import annotations

import pytest
import requests
from marshmallow import Schema, ValidationError

from deepserve.artefacts import DEFAULT_VERSION, POINTER
from deepserve.paths import DATA_DIR_VARIABLE
from deepserve.progress import set_reporter
from deepserve_iris.model import IrisModel

SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
DEFAULTS = {"C": 1.0, "max_iter": 1000, "test_size": 0.2}


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A data directory of our own: the models trained here are seen by this test only."""
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(tmp_path))
    return tmp_path


@pytest.fixture
def reports():
    calls = []
    set_reporter(lambda progress, metrics, message: calls.append((progress, metrics, message)))
    yield calls
    set_reporter(None)


def load_train_args(data: dict) -> dict:
    return Schema.from_dict(IrisModel().get_train_args())().load(data)


def test_train_args_have_defaults_ranges_and_descriptions():
    args = IrisModel().get_train_args()
    assert list(args) == ["C", "max_iter", "test_size"]
    assert load_train_args({}) == DEFAULTS
    for name, field in args.items():
        assert field.metadata["description"]
        assert load_train_args({name: field.metadata["example"]})


@pytest.mark.parametrize(
    ("name", "value"),
    [("C", 0), ("C", 1e5), ("max_iter", 5), ("test_size", 0.9), ("test_size", "half")],
)
def test_out_of_range_train_args_are_rejected(name, value):
    with pytest.raises(ValidationError) as raised:
        load_train_args({name: value})
    assert set(raised.value.messages) == {name}


def test_train_saves_a_model_that_predictions_then_use(data_dir, reports):
    model = IrisModel()
    assert model.predict(**SETOSA)["model_version"] == DEFAULT_VERSION
    result = model.train(**DEFAULTS)
    assert result["accuracy"] >= 0.9
    assert result["train_size"] == 120 and result["test_size"] == 30
    assert result["hyper_parameters"] == DEFAULTS
    version = result["model_version"]
    assert version != DEFAULT_VERSION
    assert model.predict(**SETOSA) == {**model.predict(**SETOSA), "model_version": version}
    assert model.predict(**SETOSA)["label"] == "setosa"
    # Another process serving the model (here: another instance) switches too.
    assert IrisModel().predict(**SETOSA)["model_version"] == version
    # Saved whole: the version's pickle and the pointer to it, no temporary file left.
    saved = data_dir / "models" / "iris"
    assert {p.name for p in saved.iterdir()} == {POINTER, f"{version}.pickle"}
    assert model.store.current().info == {k: v for k, v in result.items() if k != "model_version"}


def test_training_again_makes_the_newest_model_current(data_dir):
    model = IrisModel()
    first = model.train(**DEFAULTS)["model_version"]
    assert model.predict(**SETOSA)["model_version"] == first
    second = model.train(**{**DEFAULTS, "C": 0.01})["model_version"]
    assert second > first
    assert model.predict(**SETOSA)["model_version"] == second
    assert model.store.current().value.get_params()["classifier__C"] == 0.01
    # Deleting the pointer goes back to the default classifier.
    (data_dir / "models" / "iris" / POINTER).unlink()
    assert model.predict(**SETOSA)["model_version"] == DEFAULT_VERSION


def test_hyper_parameters_change_the_model(data_dir):
    strong = IrisModel().train(**{**DEFAULTS, "C": 0.001})
    weak = IrisModel().train(**DEFAULTS)
    assert strong["accuracy"] < weak["accuracy"]


def test_train_reports_progress_and_accuracy(data_dir, reports):
    result = IrisModel().train(**DEFAULTS)
    progress = [p for p, _, _ in reports if p is not None]
    assert progress == sorted(progress) and progress[0] == 0.0 and progress[-1] == 1.0
    assert {"accuracy": result["accuracy"]} in [m for _, m, _ in reports]
    assert reports[-1][2] == f"saved model {result['model_version']}"


@pytest.mark.e2e
def test_a_training_job_changes_what_the_server_predicts(run_server, tmp_path, wait):
    server = run_server("--workers", "2", "--model", "iris", "--data-dir", str(tmp_path))
    predict = f"{server.url}/v2/models/iris/predict/"
    assert requests.post(predict, json=SETOSA).json()["model_version"] == DEFAULT_VERSION
    created = requests.post(f"{server.url}/v2/models/iris/train/", json={"C": 0.5})
    assert created.status_code == 202
    job_url = f"{server.url}/v2/models/iris/train/{created.json()['id']}"
    job = wait(lambda: (j := requests.get(job_url).json())["status"] == "done" and j)
    assert job["args"] == {**DEFAULTS, "C": 0.5}
    assert job["progress"] == 1.0 and job["metrics"]["accuracy"] == job["result"]["accuracy"]
    version = job["result"]["model_version"]
    for _ in range(6):  # whichever worker answers
        assert requests.post(predict, json=SETOSA).json()["model_version"] == version
