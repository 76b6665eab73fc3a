"""Training the load forecasting example over HTTP: jobs run by a real supervisor, then
predictions of the same data directory use what they stored."""

from __future__ import annotations

import pandas as pd
import pytest
import requests
from example_models import finished_job, job_log, submit_training, upload, write_csv

from deepserve.jobs.store import FINISHED
from deepserve_load_forecast import features
from deepserve_load_forecast.forecaster import MODELS
from deepserve_load_forecast.series import bundled

NAME = "load-forecast"
TRAIN = f"/v2/models/{NAME}/train/"
PREDICT = f"/v2/models/{NAME}/predict/"
#: Small hyper-parameters, so that a job fits in a second or two.
QUICK = {"svr_rows": 500, "rf_n_estimators": 5, "rf_rows": 2000}


@pytest.fixture(scope="module")
def series() -> pd.Series:
    return bundled()


@pytest.fixture
def week_csv(tmp_path, series) -> str:
    """Eight days of history to forecast from."""
    return write_csv(tmp_path / "week.csv", series["2019-12-02":"2019-12-09"])


def job_ids(client) -> list[str]:
    return [job["id"] for job in client.get(TRAIN).json["jobs"]]


def stored_files(jobs_data_dir) -> set[str]:
    folder = jobs_data_dir / "models" / NAME
    return {path.name for path in folder.iterdir()} if folder.exists() else set()


def test_train_on_the_bundled_series_then_predict_uses_it(jobs_client, supervisor, wait, week_csv):
    submitted = submit_training(jobs_client, NAME, json=QUICK)
    assert submitted["status"] in ("queued", "running")
    job = finished_job(jobs_client, wait, submitted)
    assert job["status"] == "done", job
    result = job["result"]
    assert result["train_hours"] == 2 * 365 * 24 - 28 * 24
    assert result["hyper_parameters"]["rf_n_estimators"] == 5
    assert set(result["test_scores"]) == set(MODELS)
    for scores in result["test_scores"].values():
        assert scores["mae"] > 0 and 0 < scores["mape"] < 15
    assert job["progress"] == 1.0
    assert job["metrics"] == {
        f"{name}_{key}": value
        for name, scores in result["test_scores"].items()
        for key, value in scores.items()
    }
    version = result["model_version"]
    assert job["message"] == f"stored version {version}"
    log = job_log(jobs_client, job)
    for estimator in MODELS.values():
        assert f"fitted {estimator} in " in log

    answer = jobs_client.post(PREDICT, data={"data": upload(week_csv)})
    assert answer.status_code == 200, answer.json
    assert answer.json["model_version"] == version


def test_train_on_an_uploaded_csv(jobs_client, supervisor, wait, tmp_path, series, jobs_data_dir):
    spring = write_csv(tmp_path / "spring.csv", series["2019-03-01":"2019-04-30"])  # 61 days
    submitted = submit_training(
        jobs_client,
        NAME,
        data={"data": upload(spring, "spring.csv"), "test_days": "7", **QUICK},
        content_type="multipart/form-data",
    )
    assert submitted["args"]["data"] == "spring.csv"
    job = finished_job(jobs_client, wait, submitted)
    assert job["status"] == "done", job
    assert job["result"]["train_hours"] == 61 * 24 - 7 * 24
    assert job["result"]["test_hours"] == 7 * 24
    assert job["result"]["test_forecasts"] == 7 * 24 - features.HORIZON + 1
    job_dir = jobs_data_dir / "jobs" / job["id"]
    assert (job_dir / "log").is_file()
    assert not (job_dir / "files").exists()  # the upload went with the job


def test_bad_arguments_are_422_and_create_no_job(jobs_client, jobs_data_dir):
    before = job_ids(jobs_client)
    response = jobs_client.post(TRAIN, data={"test_days": "0"})
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"test_days"}
    assert job_ids(jobs_client) == before


def test_a_short_upload_ends_the_job_as_an_error(
    jobs_client, supervisor, wait, tmp_path, jobs_data_dir
):
    # Only train knows how long a series it needs (here: with 28 test days).
    (tmp_path / "bad.csv").write_text("time,load\n2019-12-02T00:00,41000\n2019-12-02T01:00,40000\n")
    stored = stored_files(jobs_data_dir)
    submitted = submit_training(
        jobs_client,
        NAME,
        data={"data": upload(str(tmp_path / "bad.csv"), "bad.csv")},
        content_type="multipart/form-data",
    )
    job = finished_job(jobs_client, wait, submitted)
    assert job["status"] == "error"
    assert job["error"] == (
        'Invalid arguments: {"data": ["2 hours are too few: a week of history, a day ahead '
        'and 28 test days take 864."]}'
    )
    assert job["message"] == job["error"]
    assert job["result"] is None
    assert not (jobs_data_dir / "jobs" / job["id"] / "files").exists()
    assert stored_files(jobs_data_dir) == stored  # no version stored, none half-written


@pytest.mark.e2e
def test_a_training_job_changes_what_the_server_forecasts(run_server, tmp_path, wait, series):
    # Not warmed: the default regressors are not needed, the job's are.
    server = run_server("--model", NAME, "--no-warm", "--data-dir", str(tmp_path / "data"))
    created = requests.post(server.url + TRAIN, json={**QUICK, "test_days": 14}, timeout=30)
    assert created.status_code == 202, created.text
    job_url = server.url + created.headers["Location"]
    job = wait(
        lambda: (j := requests.get(job_url, timeout=30).json())["status"] in FINISHED and j, 120
    )
    assert job["status"] == "done", job
    assert job["result"]["test_hours"] == 14 * 24
    week = write_csv(tmp_path / "week.csv", series["2019-12-02":"2019-12-09"])
    with open(week, "rb") as history:
        answer = requests.post(server.url + PREDICT, files={"data": history}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["model_version"] == job["result"]["model_version"]
