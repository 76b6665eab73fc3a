"""The ${name} model, served through its installed entry point by deepserve's own app."""

import pytest
from deepserve.api import create_app
from deepserve.loading import discover


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPSERVE_DATA_DIR", str(tmp_path))  # keep the weights out of yours
    discovery = discover(["${name}"])
    assert discovery.rejections == [], discovery.rejections  # installed and valid
    return create_app(discovery.models, data_dir=tmp_path).test_client()


def test_predict(client):
    response = client.post("/v2/models/${name}/predict/", json={"x": 2, "unit": "km"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"y": 2.0, "unit": "km"}


def test_bad_arguments_are_422(client):
    response = client.post("/v2/models/${name}/predict/", json={"x": 2, "unit": "mile"})
    assert response.status_code == 422
    assert "unit" in response.get_json()["errors"]


def test_training_changes_the_predictions(client):
    from ${package}.model import ${class_name}

    assert ${class_name}().train(target_slope=3, epochs=10)["slope"] == pytest.approx(3, abs=0.01)
    prediction = client.post("/v2/models/${name}/predict/", json={"x": 2}).get_json()
    assert prediction["y"] == pytest.approx(6, abs=0.02)
