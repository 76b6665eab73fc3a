"""The bundled iris example model (examples/iris), used directly, not over HTTP.

Needs the example installed: ``pip install -e examples/iris``.
"""

from __future__ import annotations

import importlib.metadata
import json
import math

import pytest
from marshmallow import Schema, ValidationError
from sklearn.datasets import load_iris

from deepserve.model import BaseModel
from deepserve_iris import model as iris_module
from deepserve_iris.model import (
    CLASSES,
    FEATURES,
    IrisModel,
    IrisPrediction,
    build_classifier,
    load_data,
)

# One flower of each species, straight from the data set (rows 0, 50 and 100).
FLOWERS = {
    "setosa": dict(zip(FEATURES, (5.1, 3.5, 1.4, 0.2), strict=True)),
    "versicolor": dict(zip(FEATURES, (7.0, 3.2, 4.7, 1.4), strict=True)),
    "virginica": dict(zip(FEATURES, (6.3, 3.3, 6.0, 2.5), strict=True)),
}


@pytest.fixture(scope="module")
def model() -> IrisModel:
    model = IrisModel()
    model.warm()
    return model


def load_args(model: IrisModel, data: dict) -> dict:
    """Load ``data`` with a schema built from the model's predict arguments."""
    return Schema.from_dict(model.get_predict_args())().load(data)


# -- the class -------------------------------------------------------------------


def test_is_a_base_model():
    assert issubclass(IrisModel, BaseModel)


def test_instantiation_is_cheap(monkeypatch):
    def no_fitting(**hyper):
        raise AssertionError("the classifier must not be built on instantiation")

    monkeypatch.setattr(iris_module, "build_classifier", no_fitting)
    model = IrisModel()
    # Metadata and arguments do not need a fitted classifier either.
    assert model.get_metadata()["name"] == "iris"
    assert set(model.get_predict_args()) == {*FEATURES, "top_k"}


def test_metadata_is_complete_and_json_serialisable():
    metadata = IrisModel().get_metadata()
    for key in ("name", "description", "version", "author", "license", "url"):
        assert metadata[key], key
    assert metadata["name"] == "iris"
    assert metadata["author"] == "deepserve"
    assert metadata["license"] == "Apache-2.0"
    assert metadata["version"] == importlib.metadata.version("deepserve-iris")
    assert metadata["classes"] == ["setosa", "versicolor", "virginica"]
    assert "iris" in metadata["dataset"]
    json.dumps(metadata)


def test_classes_match_the_data_set():
    assert list(CLASSES) == list(load_iris().target_names)
    assert len(FEATURES) == load_iris().data.shape[1]


# -- fitting ---------------------------------------------------------------------


def test_warm_fits_once_and_predict_reuses_it(monkeypatch):
    calls = []

    def counting(**hyper):
        calls.append(hyper)
        return build_classifier(**hyper)

    monkeypatch.setattr(iris_module, "build_classifier", counting)
    model = IrisModel()
    model.warm()
    assert len(calls) == 1
    model.predict(**FLOWERS["setosa"])
    model.warm()
    assert len(calls) == 1


def test_predict_fits_lazily_without_warm():
    output = IrisModel().predict(**FLOWERS["virginica"])
    assert output["label"] == "virginica"
    assert output["model_version"] == "default"


def test_default_classifier_is_accurate(model):
    x, y = load_data()
    assert x.shape == (150, 4)
    accuracy = (model.store.current().value.predict(x) == y).mean()
    assert accuracy >= 0.95


def test_build_classifier_takes_hyper_parameters():
    classifier = build_classifier(C=0.5)
    assert classifier.get_params()["classifier__C"] == 0.5
    assert build_classifier().get_params()["classifier__C"] == 1.0


# -- predict ---------------------------------------------------------------------


@pytest.mark.parametrize("species", sorted(FLOWERS))
def test_predicts_each_species(model, species):
    output = model.predict(**FLOWERS[species])
    assert output["label"] == species
    assert output["probabilities"][0]["label"] == species
    assert output["probabilities"][0]["probability"] > 0.8
    assert output["model_version"] == "default"


@pytest.mark.parametrize("species", sorted(FLOWERS))
def test_probabilities_cover_all_classes_sum_to_one_sorted(model, species):
    probabilities = model.predict(**FLOWERS[species])["probabilities"]
    assert sorted(p["label"] for p in probabilities) == sorted(CLASSES)
    values = [p["probability"] for p in probabilities]
    assert math.isclose(sum(values), 1.0, abs_tol=1e-9)
    assert values == sorted(values, reverse=True)
    assert all(0 <= value <= 1 for value in values)


@pytest.mark.parametrize("top_k", [1, 2, 3])
def test_top_k_limits_the_probabilities(model, top_k):
    full = model.predict(**FLOWERS["versicolor"])
    output = model.predict(**FLOWERS["versicolor"], top_k=top_k)
    assert output["probabilities"] == full["probabilities"][:top_k]
    assert output["label"] == "versicolor"


def test_output_is_plain_python(model):
    output = model.predict(**FLOWERS["setosa"])
    assert type(output["label"]) is str
    assert type(output["model_version"]) is str
    for entry in output["probabilities"]:
        assert type(entry["label"]) is str
        assert type(entry["probability"]) is float
    assert json.loads(json.dumps(output)) == output


@pytest.mark.parametrize("species", sorted(FLOWERS))
def test_output_validates_against_the_schema(model, species):
    assert IrisModel.schema is IrisPrediction
    output = model.predict(**FLOWERS[species], top_k=2)
    assert model.schema().validate(output) == {}
    assert IrisPrediction().dump(output) == output


def test_schema_rejects_a_bad_output():
    errors = IrisPrediction().validate(
        {"label": "rose", "probabilities": [{"label": "setosa", "probability": 2}]}
    )
    assert set(errors) == {"label", "probabilities", "model_version"}


def test_schema_fields_are_described():
    for schema in (IrisPrediction(), iris_module.ClassProbability()):
        for name, field in schema.fields.items():
            assert field.metadata.get("description"), name


# -- predict arguments -----------------------------------------------------------


def test_predict_args_are_described_with_examples(model):
    args = model.get_predict_args()
    assert list(args) == [*FEATURES, "top_k"]
    for name in FEATURES:
        assert args[name].required
        assert "cm" in args[name].metadata["description"]
        assert isinstance(args[name].metadata["example"], float)
    assert not args["top_k"].required
    assert args["top_k"].metadata["description"]


def test_loading_no_arguments_reports_the_four_required_fields(model):
    with pytest.raises(ValidationError) as excinfo:
        load_args(model, {})
    assert set(excinfo.value.messages) == set(FEATURES)


def test_loaded_arguments_predict(model):
    data = {name: str(value) for name, value in FLOWERS["virginica"].items()}
    args = load_args(model, data)
    assert args == {**FLOWERS["virginica"], "top_k": 3}
    assert model.predict(**args)["label"] == "virginica"


def test_examples_are_valid_arguments(model):
    args = model.get_predict_args()
    examples = {name: field.metadata["example"] for name, field in args.items()}
    assert model.predict(**load_args(model, examples))["label"] == "setosa"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("petal_width", -1),
        ("sepal_length", 10.5),
        ("petal_length", "long"),
        ("top_k", 0),
        ("top_k", 4),
    ],
)
def test_out_of_range_arguments_are_rejected(model, name, value):
    data = {**FLOWERS["setosa"], name: value}
    with pytest.raises(ValidationError) as excinfo:
        load_args(model, data)
    assert set(excinfo.value.messages) == {name}


# -- packaging -------------------------------------------------------------------


def test_entry_point_is_installed():
    entry_points = importlib.metadata.entry_points(group="deepserve.model")
    by_name = {entry_point.name: entry_point for entry_point in entry_points}
    assert "iris" in by_name, "pip install -e examples/iris"
    assert by_name["iris"].load() is IrisModel


# -- batches ----------------------------------------------------------------------


def test_a_batch_answers_each_flower_as_predict_does(model):
    batch = [
        {**FLOWERS[species], "top_k": k} for species, k in zip(CLASSES, (1, 2, 3), strict=True)
    ]
    outputs = model.predict_batch(batch)
    for output, flower in zip(outputs, batch, strict=True):
        alone = model.predict(**flower)  # the same up to rounding (one matrix product for all)
        assert (output["label"], output["model_version"]) == (alone["label"], "default")
        pairs = [(p["label"], pytest.approx(p["probability"])) for p in alone["probabilities"]]
        assert [(p["label"], p["probability"]) for p in output["probabilities"]] == pairs
    assert [len(output["probabilities"]) for output in outputs] == [1, 2, 3]
