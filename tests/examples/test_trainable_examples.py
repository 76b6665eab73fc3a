"""What the trainable examples (load forecast, cell segmentation) share, checked for both."""

from __future__ import annotations

import importlib.metadata
import json

import pytest
from example_models import installed_model, train_args
from openapi_spec_validator import validate

from deepserve.api import create_app
from deepserve.errors import ArgumentError
from deepserve.loading import discover

EXAMPLES = {
    "load-forecast": ("deepserve-load-forecast", "synthetic"),
    "cell-segmentation": ("deepserve-cell-segmentation", "immunohistochemistry"),
}


@pytest.mark.parametrize("name", EXAMPLES)
def test_installed_with_metadata(name):
    distribution, dataset = EXAMPLES[name]
    metadata = installed_model(name).get_metadata()
    assert metadata["name"] == name
    assert metadata["version"] == importlib.metadata.version(distribution)
    for key in ("description", "author", "license", "url"):
        assert metadata[key], key
    assert dataset in metadata["dataset"]
    json.dumps(metadata)


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_argument_is_described(name):
    (record,) = discover([name]).models
    assert record.train_args is not None
    for spec in (record.predict_args, record.train_args):
        for argument, parameter in spec.parameters.items():
            assert parameter.get("description"), argument


def test_swagger_spec_is_valid_and_lists_the_media_types():
    app = create_app(discover(EXAMPLES).models)
    spec = app.test_client().get("/swagger.json").json
    validate(spec)
    produces = {
        name: spec["paths"][f"/v2/models/{name}/predict/"]["post"]["produces"] for name in EXAMPLES
    }
    assert produces == {
        "load-forecast": ["application/json", "image/png", "text/csv"],
        "cell-segmentation": ["application/json", "image/png"],
    }


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("load-forecast", {"test_days": 0}),
        ("load-forecast", {"svr_c": -1}),
        ("load-forecast", {"rf_n_estimators": 0}),
        ("load-forecast", {"rf_max_depth": "deep"}),
        ("cell-segmentation", {"n_estimators": 0}),
        ("cell-segmentation", {"max_depth": 100}),
        ("cell-segmentation", {"training_pixels": 10}),
        ("cell-segmentation", {"test_fraction": 1}),
    ],
)
def test_train_arguments_are_checked(name, bad):
    with pytest.raises(ArgumentError) as excinfo:
        train_args(name, **bad)
    assert set(excinfo.value.data["errors"]) == set(bad)
