"""The iris example through the HTTP API and the command line."""

from __future__ import annotations

import json

FLOWER = {"sepal_length": 6.3, "sepal_width": 3.3, "petal_length": 6.0, "petal_width": 2.5}


def test_iris_predict_over_http(client):
    response = client.post("/v2/models/iris/predict/", json={**FLOWER, "top_k": 2})
    assert response.status_code == 200
    body = response.get_json()
    assert body["label"] == "virginica"
    assert [p["label"] for p in body["probabilities"]][0] == "virginica"
    assert len(body["probabilities"]) == 2


def test_iris_out_of_range_is_422(client):
    response = client.post("/v2/models/iris/predict/", data={**FLOWER, "petal_width": "-1"})
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["petal_width"]


def test_iris_swagger_documents_ranges_and_descriptions(client):
    spec = client.get("/swagger.json").get_json()
    params = {p["name"]: p for p in spec["paths"]["/v2/models/iris/predict/"]["post"]["parameters"]}
    assert params["petal_width"]["type"] == "number"
    assert params["petal_width"]["minimum"] == 0 and params["petal_width"]["required"]
    assert params["petal_width"]["description"]


def test_iris_predict_from_the_command_line_with_dashed_names(cli):
    flower = [f"--{name.replace('_', '-')}={value}" for name, value in FLOWER.items()]
    result = cli("predict", "iris", *flower)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["label"] == "virginica"
