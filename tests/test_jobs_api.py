"""The training routes through the Flask test client, with real job runners: each test runs
twice, with a local supervisor and SQLite records, and with a Celery worker (Redis broker)
and PostgreSQL records."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from deepserve.api import create_app
from deepserve.jobs.store import FINISHED

TRAIN = "/v2/models/trainer/train/"
SOME_ID = "0" * 32


#: The models of the job runner shared by this module's tests (conftest.py's ``shared_jobs``).
RUNNER_MODELS = ("trainer",)


@pytest.fixture
def data_dir(shared_jobs) -> Path:
    return shared_jobs.data_dir


@pytest.fixture
def jobs_app(discovery, jobs_backend):
    return create_app(discovery.models, jobs=jobs_backend)


@pytest.fixture
def api(jobs_app):
    return jobs_app.test_client()


def submit(api, **data) -> dict:
    response = api.post(TRAIN, data=data)
    assert response.status_code == 202, response.json
    return response.json


def job(api, job_id: str) -> dict:
    response = api.get(TRAIN + job_id)
    assert response.status_code == 200, response.json
    return response.json


def finished(api, wait, job_id: str, timeout: float = 30) -> dict:
    return wait(lambda: (j := job(api, job_id))["status"] in FINISHED and j, timeout)


def running(api, wait, job_id: str) -> dict:
    """The job once it runs and has reported (its process id is in its metrics)."""
    return wait(lambda: (j := job(api, job_id))["metrics"] and j)


def log_text(api, job_id: str, query: str = "") -> str:
    with api.get(TRAIN + job_id + "/log" + query) as response:
        assert response.status_code == 200
        assert response.mimetype == "text/plain"
        return response.text


def job_ids(api, query: str = "") -> list[str]:
    response = api.get(TRAIN + query)
    assert response.status_code == 200, response.json
    return [j["id"] for j in response.json["jobs"]]


# -- a job's life -----------------------------------------------------------------------


def test_submit_answers_202_with_the_queued_job(api):
    response = api.post(TRAIN, data={"mode": "ok", "label": "first"})
    assert response.status_code == 202
    document = response.json
    assert re.fullmatch(r"[0-9a-f]{32}", document["id"])
    assert document["model"] == "trainer"
    assert document["status"] in ("queued", "running")
    assert document["args"] == {"mode": "ok", "seconds": 0.0, "data": None, "label": "first"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", document["created"])
    path = TRAIN + document["id"]
    assert response.headers["Location"] == path
    assert document["links"] == [
        {"rel": "self", "href": path},
        {"rel": "log", "href": path + "/log"},
    ]
    for key in ("started", "finished", "duration", "result", "error", "progress"):
        assert key in document
    assert document["uuid"] == document["id"]  # DEEPaaS's names, for DEEPaaS clients
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?", document["date"])


def test_a_job_runs_to_done_with_its_result_progress_and_metrics(api, wait):
    submitted = submit(api, mode="ok", seconds="0.3", label="hello")
    done = finished(api, wait, submitted["id"])
    assert done["status"] == "done", done
    assert done["result"]["label"] == "hello"
    assert done["error"] is None
    assert done["progress"] == 1.0
    assert done["message"] == "finished"
    assert done["metrics"] == {"pid": done["result"]["pid"], "loss": 0.1}
    assert done["created"] <= done["started"] <= done["finished"]
    assert done["duration"] >= 0.3


def test_a_running_job_shows_its_reports(api, wait):
    submitted = submit(api, mode="sleep", seconds="3")
    seen = running(api, wait, submitted["id"])
    assert seen["status"] == "running"
    assert seen["message"] == "started"
    assert seen["progress"] == 0.0
    assert seen["finished"] is None
    assert seen["duration"] >= 0
    api.delete(TRAIN + submitted["id"])


def test_list_is_newest_first_with_status_filter_and_paging(api, wait):
    ids = [submit(api, mode="ok")["id"] for _ in range(3)]
    for job_id in ids:
        finished(api, wait, job_id)
    failed = submit(api, mode="raise")["id"]
    finished(api, wait, failed)
    assert job_ids(api) == [failed, *ids[::-1]]
    assert job_ids(api, "?status=done") == ids[::-1]
    assert job_ids(api, "?status=error&status=queued") == [failed]
    assert job_ids(api, "?status=running") == []
    assert job_ids(api, "?limit=2") == [failed, ids[2]]
    assert job_ids(api, "?limit=2&offset=2") == [ids[1], ids[0]]
    assert job_ids(api, "?offset=10") == []


@pytest.mark.parametrize(
    ("query", "argument"),
    [("?status=sleeping", "status"), ("?limit=0", "limit"), ("?offset=-1", "offset")],
)
def test_list_rejects_a_bad_query(api, query, argument):
    response = api.get(TRAIN + query)
    assert response.status_code == 422
    assert set(response.json["errors"]) == {argument}


# -- arguments and files ----------------------------------------------------------------


def test_arguments_come_as_json_too(api, wait):
    response = api.post(TRAIN, json={"mode": "ok", "label": "from json"})
    assert response.status_code == 202
    assert finished(api, wait, response.json["id"])["result"]["label"] == "from json"


@pytest.mark.parametrize(
    "data",
    [{"mode": "fly"}, {"seconds": "-1"}, {"seconds": "long"}, {"data": "not a file"}],
)
def test_bad_arguments_are_422_and_create_no_job(api, data_dir, data):
    response = api.post(TRAIN, data=data)
    assert response.status_code == 422
    assert set(response.json["errors"]) == set(data)
    assert job_ids(api) == []
    assert not any(p.is_dir() for p in (data_dir / "jobs").glob("*"))


def test_a_file_argument_lives_in_the_job_directory_while_the_job_runs(api, wait, data_dir):
    response = api.post(
        TRAIN,
        data={"mode": "ok", "data": (io.BytesIO(b"a,b\n1,2\n"), "rows.csv", "text/csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 202
    submitted = response.json
    assert submitted["args"]["data"] == "rows.csv"
    done = finished(api, wait, submitted["id"])
    seen = done["result"]["data"]
    job_dir = data_dir / "jobs" / submitted["id"]
    assert Path(seen["path"]) == job_dir / "files" / "data"
    assert seen["existed"] is True
    assert seen["content"] == "a,b\n1,2\n"
    assert (seen["original_filename"], seen["content_type"]) == ("rows.csv", "text/csv")
    assert not (job_dir / "files").exists()
    assert (job_dir / "log").is_file()


def test_a_file_argument_is_in_the_job_directory_during_training(api, wait, data_dir):
    response = api.post(
        TRAIN,
        data={"mode": "sleep", "seconds": "1", "data": (io.BytesIO(b"x"), "x.bin")},
        content_type="multipart/form-data",
    )
    job_id = response.json["id"]
    files = data_dir / "jobs" / job_id / "files"
    running(api, wait, job_id)
    assert (files / "data").read_bytes() == b"x"
    assert finished(api, wait, job_id)["status"] == "done"
    assert not files.exists()


# -- failures -----------------------------------------------------------------------------


def test_an_exception_in_train_is_an_error_with_the_traceback_in_the_log(api, wait):
    job_id = submit(api, mode="raise")["id"]
    failed = finished(api, wait, job_id)
    assert failed["status"] == "error"
    assert failed["error"] == "Model 'trainer' failed in train: RuntimeError: training diverged"
    assert failed["message"] == failed["error"]  # where DEEPaaS clients look
    assert failed["result"] is None
    log = log_text(api, job_id)
    assert "Traceback (most recent call last)" in log
    assert "RuntimeError: training diverged" in log


def test_an_http_exception_in_train_is_an_error_too(api, wait):
    job_id = submit(api, mode="http")["id"]
    failed = finished(api, wait, job_id)
    assert failed["status"] == "error"
    assert failed["error"] == (
        "Model 'trainer' failed in train: 409 Conflict: the data set is locked"
    )
    assert "Conflict" in log_text(api, job_id)


def test_a_result_that_is_not_json_is_an_error(api, wait):
    failed = finished(api, wait, submit(api, mode="nonjson")["id"])
    assert failed["status"] == "error"
    assert failed["error"].startswith("Model 'trainer' returned output that is not JSON: ")


@pytest.mark.parametrize(
    ("method", "path"), [("get", SOME_ID), ("delete", SOME_ID), ("get", SOME_ID + "/log")]
)
def test_unknown_jobs_are_404(api, method, path):
    response = getattr(api, method)(TRAIN + path)
    assert response.status_code == 404
    assert response.json["message"] == f"No training job '{SOME_ID}' for model 'trainer'."


def test_a_job_is_found_only_under_its_own_model(api):
    job_id = submit(api, mode="ok")["id"]
    iris = api.get(f"/v2/models/iris/train/{job_id}")
    assert iris.status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", ""), ("get", ""), ("get", SOME_ID), ("delete", SOME_ID), ("get", SOME_ID + "/log")],
)
def test_models_without_train_answer_501(api, method, path):
    response = getattr(api, method)("/v2/models/echo/train/" + path)
    assert response.status_code == 501
    assert response.json == {"message": "Model 'echo' does not implement train."}


# -- cancel and remove ----------------------------------------------------------------------


def test_cancel_a_running_job_stops_its_process(api, wait, gone):
    job_id = submit(api, mode="sleep", seconds="60")["id"]
    pid = running(api, wait, job_id)["metrics"]["pid"]
    response = api.delete(TRAIN + job_id)
    assert response.status_code == 200
    assert response.json["status"] == "cancelled"
    assert response.json["finished"] is not None
    wait(lambda: gone(pid), timeout=10)
    assert job(api, job_id)["status"] == "cancelled"


def test_cancel_a_queued_job_and_it_never_runs(api, wait):
    blocker = submit(api, mode="sleep", seconds="60")["id"]
    running(api, wait, blocker)
    queued = submit(api, mode="ok")["id"]
    assert job(api, queued)["status"] == "queued"
    response = api.delete(TRAIN + queued)
    assert response.json["status"] == "cancelled"
    assert response.json["started"] is None and response.json["duration"] is None
    api.delete(TRAIN + blocker)
    follower = submit(api, mode="ok")["id"]
    assert finished(api, wait, follower)["status"] == "done"
    assert job(api, queued)["started"] is None


def test_delete_a_finished_job_removes_its_record_and_log(api, wait, data_dir):
    job_id = submit(api, mode="print")["id"]
    done = finished(api, wait, job_id)
    response = api.delete(TRAIN + job_id)
    assert response.status_code == 200
    assert response.json == {**done, "links": response.json["links"]}
    assert api.get(TRAIN + job_id).status_code == 404
    assert not (data_dir / "jobs" / job_id).exists()


# -- logs ----------------------------------------------------------------------------------


def test_the_log_has_stdout_and_stderr_and_can_be_tailed(api, wait):
    job_id = submit(api, mode="print")["id"]
    finished(api, wait, job_id)
    log = log_text(api, job_id)
    assert "to stdout: epoch 1\n" in log
    assert "to stderr: warning\n" in log
    last = log_text(api, job_id, "?tail=1")
    assert last.count("\n") == 1 and last == log.splitlines(keepends=True)[-1]
    assert log_text(api, job_id, "?tail=0") == ""
    assert api.get(TRAIN + job_id + "/log?tail=-1").status_code == 422


def test_a_queued_job_has_an_empty_log(api, wait):
    blocker = submit(api, mode="sleep", seconds="60")["id"]
    running(api, wait, blocker)
    queued = submit(api)["id"]
    assert log_text(api, queued) == ""
    assert log_text(api, queued, "?tail=3") == ""
    api.delete(TRAIN + blocker)


# -- documentation ---------------------------------------------------------------------------


def test_metadata_links_to_train_when_the_model_trains(api):
    links = {link["rel"]: link["href"] for link in api.get("/v2/models/trainer/").json["links"]}
    assert links["train"] == TRAIN
    echo = {link["rel"] for link in api.get("/v2/models/echo/").json["links"]}
    assert "train" not in echo


def test_swagger_documents_the_training_routes(api):
    spec = api.get("/swagger.json").json
    validate(spec)
    paths = spec["paths"]
    jobs = paths["/v2/models/trainer/train/"]
    assert {p["name"] for p in jobs["post"]["parameters"]} == {"mode", "seconds", "data", "label"}
    assert jobs["post"]["responses"]["202"]["schema"] == {"$ref": "#/definitions/TrainingJob"}
    assert {"422", "501"} <= set(jobs["post"]["responses"])
    assert {p["name"] for p in jobs["get"]["parameters"]} == {"status", "limit", "offset"}
    assert all(p["in"] == "query" for p in jobs["get"]["parameters"])
    one = paths["/v2/models/trainer/train/{job_id}"]
    assert {"get", "delete"} <= set(one)
    assert "404" in one["get"]["responses"]
    log = paths["/v2/models/trainer/train/{job_id}/log"]["get"]
    assert log["produces"] == ["text/plain", "application/json"]  # the log, or an error
    assert "422" in log["responses"]
    job_schema = spec["definitions"]["TrainingJob"]
    assert set(job_schema["properties"]) >= {
        "id", "model", "status", "args", "created", "started", "finished", "duration",
        "result", "error", "progress", "links",
    }  # fmt: skip
    assert not any(path.startswith("/v2/models/echo/train/") for path in paths)  # 501s only
    json.dumps(spec)
