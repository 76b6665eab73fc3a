"""The load forecasting example (examples/load_forecast), through its installed entry point.

Needs the example installed: ``pip install -e examples/load_forecast``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from example_models import installed_model, recorded_reports, train_args, upload, write_csv
from PIL import Image

from deepserve.errors import ArgumentError
from deepserve.model import UploadedFile
from deepserve_load_forecast import features
from deepserve_load_forecast.forecaster import MODELS, fit, split
from deepserve_load_forecast.model import LoadForecastModel
from deepserve_load_forecast.series import SeriesError, bundled, hourly_series, read_csv

pytestmark = pytest.mark.usefixtures("data_dir")  # trained versions go to a fresh directory

NAME = "load-forecast"
PREDICT = f"/v2/models/{NAME}/predict/"


def new_model() -> LoadForecastModel:
    return installed_model(NAME)


#: Small hyper-parameters, so that training in a test takes a second or two.
QUICK = {"svr_rows": 500, "rf_n_estimators": 5, "rf_rows": 2000}


@pytest.fixture(scope="module")
def series() -> pd.Series:
    return bundled()


@pytest.fixture(scope="module")
def week(series) -> pd.Series:
    """Eight days of history, Monday 2 to Monday 9 December 2019 (in the test period)."""
    return series["2019-12-02T00:00":"2019-12-09T23:00"]


@pytest.fixture
def week_csv(tmp_path, week) -> str:
    return write_csv(tmp_path / "week.csv", week)


def mape(forecast, actual) -> float:
    return float(100 * np.mean(np.abs(np.asarray(forecast) - actual) / actual))


# -- the bundled data -------------------------------------------------------------


def test_bundled_series_is_two_years_of_consecutive_hours(series):
    assert len(series) == 2 * 365 * 24
    assert series.index[0] == pd.Timestamp("2018-01-01 00:00")
    assert (np.diff(series.index.to_numpy()) == np.timedelta64(1, "h")).all()
    assert 20_000 < series.min() < series.max() < 80_000


def test_bundled_series_has_daily_and_weekly_cycles(series):
    by_hour = series.groupby(series.index.hour).mean()
    assert by_hour.idxmin() in range(0, 6) and by_hour.idxmax() in range(9, 20)
    by_day = series.groupby(series.index.day_of_week).mean()
    assert by_day[6] < by_day[5] < by_day[:5].min()
    winter, summer = series[series.index.month == 1].mean(), series[series.index.month == 7].mean()
    assert winter > 1.1 * summer


# -- reading and checking a series ------------------------------------------------


def test_hourly_series_from_lists():
    result = hourly_series(["2020-01-01T00:00", "2020-01-01 01:00"], [1.5, "2"])
    assert list(result) == [1.5, 2.0]
    assert list(result.index) == [
        pd.Timestamp("2020-01-01 00:00"),
        pd.Timestamp("2020-01-01 01:00"),
    ]


def test_offsets_are_converted_to_utc():
    result = hourly_series(["2020-03-29T01:00+01:00", "2020-03-29T03:00+02:00"], [1, 2])
    assert list(result.index) == [
        pd.Timestamp("2020-03-29 00:00"),
        pd.Timestamp("2020-03-29 01:00"),
    ]


@pytest.mark.parametrize(
    ("times", "loads", "column", "message"),
    [
        (["2020-01-01T00:00", "2020-01-01T02:00"], [1, 2], "time", "consecutive hours"),
        (["2020-01-01T01:00", "2020-01-01T00:00"], [1, 2], "time", "consecutive hours"),
        (["2020-01-01T00:00", "2020-01-01T00:00"], [1, 2], "time", "consecutive hours"),
        (["2020-01-01T00:00", "tomorrow"], [1, 2], "time", "index 1: 'tomorrow' is not an ISO"),
        (["2020-01-01T00:00", "2020-01-01T01:00"], [1, "many"], "load", "'many' is not a number"),
        (["2020-01-01T00:00", "2020-01-01T01:00"], [1, "nan"], "load", "is not a number"),
        (["2020-01-01T00:00", "2020-01-01T01:00"], [1, ""], "load", "the load is missing"),
        (["2020-01-01T00:00"], [1, 2], "load", "1 timestamps but 2 load values"),
        ([], [], "load", "empty"),
    ],
)
def test_bad_series_are_explained(times, loads, column, message):
    with pytest.raises(SeriesError, match=message) as excinfo:
        hourly_series(times, loads)
    assert excinfo.value.column == column


def test_read_csv_names_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("time,load\n2020-01-01T00:00,1\n2020-01-01T01:00,abc\n")
    with pytest.raises(SeriesError, match="line 3: 'abc' is not a number"):
        read_csv(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"when,value\n2020-01-01T00:00,1\n", "needs the columns time, load"),
        (b"", "Not a readable CSV file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\x00", "Not a readable CSV file"),
    ],
)
def test_read_csv_rejects_other_files(tmp_path, content, message):
    path = tmp_path / "upload"
    path.write_bytes(content)
    with pytest.raises(SeriesError, match=message):
        read_csv(path)


# -- features ---------------------------------------------------------------------


def test_design_rows(series):
    values = series.to_numpy()
    origin = features.HISTORY + 100
    rows = features.design(values, series.index, np.array([origin]))
    assert rows.shape == (24, len(features.NAMES))
    level = values[origin - features.HISTORY + 1 : origin + 1].mean()
    np.testing.assert_allclose(
        rows[:, :24], np.tile(values[origin - 23 : origin + 1] / level, (24, 1))
    )
    assert list(rows[:, -1]) == list(range(1, 25))
    np.testing.assert_allclose(
        features.targets(values, np.array([origin])), values[origin + 1 : origin + 25] / level
    )


def test_calendar_features():
    times = pd.DatetimeIndex(["2019-06-01 06:00", "2019-06-03 00:00"])  # Saturday, Monday
    hour_sin, hour_cos, _, _, weekend = features.calendar_features(times).T
    np.testing.assert_allclose(hour_sin, [1, 0], atol=1e-12)
    np.testing.assert_allclose(hour_cos, [0, 1], atol=1e-12)
    assert list(weekend) == [1, 0]


# -- the regressors ---------------------------------------------------------------


@pytest.fixture(scope="module")
def default_scores(series):
    model = new_model()
    _, test_origins = split(series, 28)
    return model.store.current().value.score(series, test_origins)


def test_default_regressors_forecast_the_test_days(default_scores):
    assert set(default_scores) == set(MODELS)
    for scores in default_scores.values():
        assert scores["mape"] < 10
    assert default_scores["random_forest"]["mape"] < default_scores["linear_regression"]["mape"]
    assert default_scores["svr"]["mape"] < default_scores["linear_regression"]["mape"]


def test_forecast_looks_at_the_last_week_only(series):
    forecaster = new_model().store.current().value
    long = forecaster.forecast(series.iloc[:5000], list(MODELS))
    week = forecaster.forecast(series.iloc[5000 - features.HISTORY : 5000], list(MODELS))
    for name in MODELS:
        np.testing.assert_allclose(long[name], week[name])


def test_split_keeps_the_test_targets_out_of_training(series):
    train, test_origins = split(series, 28)
    assert len(train) == len(series) - 28 * 24
    assert test_origins[0] + 1 == len(train)  # the first test target is the first test hour
    assert test_origins[-1] + features.HORIZON == len(series) - 1


def test_fit_reports_each_regressor(series):
    fitted = []
    fit(series.iloc[: 30 * 24], QUICK, progress=lambda *call: fitted.append(call))
    assert [name for name, _ in fitted] == list(MODELS)
    assert all(seconds > 0 for _, seconds in fitted)


# -- HTTP predict -----------------------------------------------------------------


def test_predict_json_from_a_csv_upload(client, week_csv, week, series):
    response = client.post(PREDICT, data={"data": upload(week_csv)})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["model_version"] == "default"
    assert body["history"] == {"start": "2019-12-02T00:00", "end": "2019-12-09T23:00", "hours": 192}
    assert [f["model"] for f in body["forecasts"]] == list(MODELS)
    actual = series["2019-12-10T00:00":"2019-12-10T23:00"].to_numpy()
    for forecast in body["forecasts"]:
        assert forecast["estimator"] == MODELS[forecast["model"]]
        assert forecast["time"] == [f"2019-12-10T{hour:02d}:00" for hour in range(24)]
        assert mape(forecast["load"], actual) < 10


def test_predict_json_lists_match_the_csv_upload(client, week_csv, week):
    from_csv = client.post(PREDICT, data={"data": upload(week_csv)}).json
    body = {"time": list(week.index.strftime("%Y-%m-%dT%H:%M")), "load": week.tolist()}
    from_lists = client.post(PREDICT, json=body)
    assert from_lists.status_code == 200, from_lists.json
    assert from_lists.json == from_csv


def test_predict_some_models(client, week_csv):
    response = client.post(
        PREDICT, data={"data": upload(week_csv), "models": ["svr", "linear_regression", "svr"]}
    )
    assert response.status_code == 200, response.json
    assert [f["model"] for f in response.json["forecasts"]] == ["svr", "linear_regression"]


def test_predict_png(client, week_csv):
    response = client.post(
        PREDICT, data={"data": upload(week_csv)}, headers={"Accept": "image/png"}
    )
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert image.format == "PNG"
    assert image.size == (900, 400)


def test_predict_csv(client, week_csv):
    json_body = client.post(PREDICT, data={"data": upload(week_csv)}).json
    response = client.post(
        PREDICT,
        data={"data": upload(week_csv), "models": ["random_forest", "svr"]},
        headers={"Accept": "text/csv"},
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["time", "random_forest", "svr"]
    assert len(rows) == 24
    by_model = {f["model"]: f for f in json_body["forecasts"]}
    assert [row["time"] for row in rows] == by_model["svr"]["time"]
    np.testing.assert_allclose([float(row["svr"]) for row in rows], by_model["svr"]["load"])


def test_predict_other_media_type_is_406(client, week_csv):
    response = client.post(
        PREDICT, data={"data": upload(week_csv)}, headers={"Accept": "application/xml"}
    )
    assert response.status_code == 406
    assert response.json["available"] == ["application/json", "image/png", "text/csv"]


def lists(series: pd.Series) -> dict:
    return {"time": list(series.index.strftime("%Y-%m-%dT%H:%M")), "load": series.tolist()}


@pytest.mark.parametrize(
    ("make_body", "field", "message"),
    [
        (lambda w: lists(w.iloc[-100:]), "load", "At least one week"),
        (lambda w: lists(w.drop(w.index[50])), "time", "consecutive hours"),
        (lambda w: {**lists(w), "time": ["yesterday", *lists(w)["time"][1:]]}, "time", "ISO 8601"),
        (lambda w: {**lists(w), "load": lists(w)["load"][:-1]}, "load", "timestamps but"),
        (lambda w: {"load": lists(w)["load"]}, "time", "Missing"),
        (lambda w: {}, "load", "Missing"),
        (lambda w: {**lists(w), "models": ["prophet"]}, "models", "Must be one of"),
        (lambda w: {**lists(w), "models": []}, "models", "Shorter than minimum"),
    ],
)
def test_bad_json_input_is_422(client, week, make_body, field, message):
    response = client.post(PREDICT, json=make_body(week))
    assert response.status_code == 422
    assert field in response.json["errors"]
    assert message in json.dumps(response.json["errors"][field])


def test_a_batch_forecasts_each_request_as_predict_does(week):
    model = new_model()
    requests = [
        lists(week),
        {**lists(week.iloc[-200:]), "models": ["svr"]},
        lists(week.iloc[-100:]),  # too short: its own 422, the others still answered
        {**lists(week), "accept": "text/csv"},
    ]
    first, second, short, table = model.predict_batch(requests)
    assert first == model.predict(**requests[0])
    assert second == model.predict(**requests[1])
    assert [forecast["model"] for forecast in second["forecasts"]] == ["svr"]
    assert isinstance(short, ArgumentError) and "load" in short.data["errors"]
    assert table == model.predict(**requests[3])


def test_non_numeric_json_load_is_422(client, week):
    body = lists(week)
    body["load"][3] = "lots"
    response = client.post(PREDICT, json=body)
    assert response.status_code == 422
    assert response.json["errors"] == {"load": {"3": ["Not a valid number."]}}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: text.replace("2019-12-05T03:00", "2019-12-05 3 o'clock"), "not an ISO 8601"),
        (
            lambda text: text.replace("\n2019-12-05T03:00,", "\n2019-12-05T03:00,n/a#"),
            "not a number",
        ),
        (lambda text: "\n".join(text.splitlines()[:100]), "At least one week"),
        (lambda text: text.replace("\n2019-12-05T03:00", "\n2019-12-05T04:00"), "consecutive"),
        (lambda text: text.replace("time,load", "timestamp,value"), "needs the columns"),
    ],
)
def test_bad_csv_upload_is_422(client, tmp_path, week_csv, edit, message):
    path = tmp_path / "edited.csv"
    path.write_text(edit(Path(week_csv).read_text()))
    response = client.post(PREDICT, data={"data": upload(str(path))})
    assert response.status_code == 422
    assert message in response.json["errors"]["data"][0]


def test_csv_and_lists_together_are_422(client, week_csv, week):
    response = client.post(PREDICT, data={"data": upload(week_csv), "load": ["1", "2"]})
    assert response.status_code == 422
    assert response.json["errors"] == {"data": ["Give either data or time and load, not both."]}


def test_a_bad_png_request_answers_json(client):
    response = client.post(
        PREDICT, data={"data": (io.BytesIO(b"\x00\x01"), "x.csv")}, headers={"Accept": "image/png"}
    )
    assert response.status_code == 422
    assert response.mimetype == "application/json"


# -- the command line -------------------------------------------------------------


def test_cli_predict_with_a_file(cli, week_csv):
    result = cli("predict", "load-forecast", "--data", week_csv, "--models", "linear_regression")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert [f["model"] for f in body["forecasts"]] == ["linear_regression"]
    assert len(body["forecasts"][0]["load"]) == 24


def test_cli_predict_csv_to_a_file(cli, week_csv, tmp_path):
    # A quickly trained version, so that the command does not fit the default regressors.
    new_model().train(**train_args(NAME, **QUICK))
    output = tmp_path / "forecast.csv"
    result = cli(
        "predict", "load-forecast", "--data", week_csv, "--media-type", "text/csv",
        "--output-file", str(output),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert output.read_text().startswith("time,linear_regression,svr,random_forest\n")


def test_cli_predict_bad_file_exits_2(cli, tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("time,load\n2020-01-01T00:00,1\n")
    result = cli("predict", "load-forecast", "--no-warm", "--data", str(path))
    assert result.returncode == 2
    assert "At least one week" in json.loads(result.stderr)["errors"]["data"][0]


# -- train ------------------------------------------------------------------------


def test_train_stores_a_version_that_predict_then_uses(client, cli, week_csv, data_dir):
    model = new_model()
    result = model.train(**train_args(NAME, **QUICK, test_days=14))
    version = result["model_version"]
    assert version != "default"
    assert result["train_hours"] == 2 * 365 * 24 - 14 * 24
    assert result["test_hours"] == 14 * 24
    assert result["hyper_parameters"]["rf_n_estimators"] == 5
    assert set(result["test_scores"]) == set(MODELS)
    for scores in result["test_scores"].values():
        assert 0 < scores["mape"] < 15
        assert scores["mae"] > 0
    json.dumps(result)
    assert (data_dir / "models" / "load-forecast" / f"{version}.pickle").is_file()

    # The served model (another instance) and the command line (another process) use it.
    served = client.post(PREDICT, data={"data": upload(week_csv)})
    assert served.json["model_version"] == version
    offline = cli("predict", "load-forecast", "--data", week_csv, "--no-warm")
    assert json.loads(offline.stdout)["model_version"] == version
    assert json.loads(offline.stdout)["forecasts"] == served.json["forecasts"]


def test_train_reports_progress_per_model():
    with recorded_reports() as reports:
        new_model().train(**train_args(NAME, **QUICK))
    progress = [p for p, _, _ in reports]
    assert progress == sorted(progress) and progress[0] == 0 and progress[-1] == 1
    messages = " ".join(m for _, _, m in reports)
    for estimator in MODELS.values():
        assert f"fitted {estimator}" in messages
    metrics = [m for _, m, _ in reports if m]
    assert set(metrics[-1]) == {f"{name}_{key}" for name in MODELS for key in ("mae", "mape")}


def test_train_on_an_uploaded_csv(tmp_path, series):
    path = write_csv(tmp_path / "spring.csv", series["2019-03-01":"2019-04-30"])
    data = UploadedFile("data", path, "text/csv", "spring.csv")
    result = new_model().train(**train_args(NAME, **QUICK, test_days=7), data=data)
    assert result["train_hours"] == 61 * 24 - 7 * 24
    assert result["test_forecasts"] == 7 * 24 - features.HORIZON + 1


@pytest.mark.parametrize(
    ("content", "message"),
    [("time,load\n2020-01-01T00:00,1\n", "too few"), ("not,a,load,file\n", "needs the columns")],
)
def test_train_on_a_bad_upload_is_an_argument_error(tmp_path, content, message):
    path = tmp_path / "upload.csv"
    path.write_text(content)
    data = UploadedFile("data", str(path), "text/csv", "upload.csv")
    with pytest.raises(ArgumentError) as excinfo:
        new_model().train(**train_args(NAME), data=data)
    assert excinfo.value.code == 422
    assert message in excinfo.value.data["errors"]["data"][0]
