"""The four examples served together by a real ``deepserve run``, as the README's command does."""

from __future__ import annotations

import io
import json

import pytest
import requests
import skimage.data
from PIL import Image

from deepserve_load_forecast.model import LoadForecastModel
from deepserve_load_forecast.series import bundled

EXAMPLES = ("iris", "load-forecast", "cell-segmentation", "shakespeare")


def png_bytes(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.e2e
def test_examples_served_together(run_server, tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    monkeypatch.setenv("DEEPSERVE_DATA_DIR", str(data_dir))
    server = run_server(*(f"--model={name}" for name in EXAMPLES))
    base = server.url + "/v2/models/"

    listed = requests.get(base, timeout=10).json()["models"]
    assert sorted(model["id"] for model in listed) == sorted(EXAMPLES)

    iris = requests.post(
        base + "iris/predict/",
        json={"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
        timeout=10,
    )
    assert iris.json()["label"] == "setosa"

    week = bundled()["2019-12-02":"2019-12-09"]
    history = "time,load\n" + "".join(
        f"{time:%Y-%m-%dT%H:%M},{load}\n" for time, load in week.items()
    )
    forecast = base + "load-forecast/predict/"
    answer = requests.post(forecast, files={"data": ("week.csv", history)}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["model_version"] == "default"
    assert len(answer.json()["forecasts"]) == 3
    plot = requests.post(
        forecast, files={"data": ("week.csv", history)}, headers={"Accept": "image/png"}, timeout=30
    )
    assert plot.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(plot.content)).size == (900, 400)
    short = requests.post(forecast, files={"data": ("week.csv", history[:500])}, timeout=30)
    assert short.status_code == 422
    assert "data" in short.json()["errors"]

    # Training elsewhere (here: in the test process) is picked up by the running server.
    version = LoadForecastModel().train(svr_rows=500, rf_n_estimators=5, rf_rows=2000)
    again = requests.post(forecast, files={"data": ("week.csv", history)}, timeout=30)
    assert again.json()["model_version"] == version["model_version"]

    image = png_bytes(skimage.data.immunohistochemistry())
    segment = base + "cell-segmentation/predict/"
    cells = requests.post(segment, files={"image": ("ihc.png", image)}, timeout=30)
    assert cells.status_code == 200, cells.text
    assert 250 < cells.json()["count"] < 700
    overlay = requests.post(
        segment, files={"image": ("ihc.png", image)}, headers={"Accept": "image/png"}, timeout=30
    )
    assert overlay.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(overlay.content)).size == (512, 512)
    bad = requests.post(segment, files={"image": ("ihc.png", b"not a png")}, timeout=30)
    assert bad.status_code == 422
    assert bad.json()["errors"] == {"image": ["Not a readable image (PNG, TIFF or JPEG)."]}

    text = base + "shakespeare/predict/"
    lines = requests.post(
        text, data={"length": 20}, headers={"Accept": "application/x-ndjson"}, timeout=30
    )
    assert lines.headers["Content-Type"] == "application/x-ndjson"
    assert all(isinstance(json.loads(line), str) for line in lines.text.splitlines())
    assert len(lines.text.splitlines()) == 20
