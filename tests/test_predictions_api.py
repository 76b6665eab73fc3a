"""Asynchronous predictions (``Prefer: respond-async``) through the Flask test client, with real
job runners: each test runs with a local supervisor and SQLite records, and with a Celery
worker (Redis broker) and PostgreSQL records."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from deepserve.api import create_app
from deepserve.api.predictions import prefers_async
from deepserve.jobs.store import FINISHED
from deepserve.settings import Settings

MODELS = ("longrun", "media", "files", "trainer", "tallied")
ASYNC = {"Prefer": "respond-async"}
SOME_ID = "0" * 32


def url(model: str, rest: str = "") -> str:
    return f"/v2/models/{model}/predictions/{rest}"


#: The models of the job runner shared by this module's tests (conftest.py's ``shared_jobs``).
RUNNER_MODELS = MODELS


@pytest.fixture
def data_dir(shared_jobs) -> Path:
    return shared_jobs.data_dir


@pytest.fixture
def api(discovery, jobs_backend):
    return create_app(discovery.models, jobs=jobs_backend).test_client()


def submit(api, model: str = "longrun", headers=None, **data) -> dict:
    response = api.post(
        f"/v2/models/{model}/predict/", data=data, headers={**ASYNC, **(headers or {})}
    )
    assert response.status_code == 202, response.json
    assert response.headers["Preference-Applied"] == "respond-async"
    assert response.headers["Location"] == url(model, response.json["id"])
    return response.json


def get(api, job_id: str, model: str = "longrun") -> dict:
    response = api.get(url(model, job_id))
    assert response.status_code == 200, response.json
    return response.json


def finished(api, wait, job_id: str, model: str = "longrun") -> dict:
    return wait(lambda: (job := get(api, job_id, model))["status"] in FINISHED and job)


def output(api, job_id: str, model: str = "longrun") -> tuple[int, str, bytes]:
    """The status, media type and body of a prediction's output."""
    with api.get(url(model, job_id + "/output")) as response:
        return response.status_code, response.mimetype, response.data


# -- the preference ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "wanted"),
    [
        ([], False),
        ([("Prefer", "respond-async")], True),
        ([("Prefer", "Respond-Async ")], True),
        ([("Prefer", "return=minimal, respond-async; foo=bar")], True),
        ([("Prefer", "wait=10"), ("Prefer", "respond-async")], True),
        ([("Prefer", "respond-asynchronously")], False),
        ([("Prefer", "return=respond-async")], False),
    ],
)
def test_the_respond_async_preference_is_found_as_rfc_7240_writes_it(app, headers, wanted):
    with app.test_request_context("/", headers=headers) as context:
        assert prefers_async(context.request) is wanted


# -- a prediction's life -----------------------------------------------------------------


def test_respond_async_answers_202_with_the_queued_prediction(api, wait):
    document = submit(api, steps="3")
    assert re.fullmatch(r"[0-9a-f]{32}", document["id"])
    assert document["model"] == "longrun"
    assert document["status"] in ("queued", "running")
    assert document["args"] == {"steps": 3, "seconds": 0.05, "fail": False}
    assert document["media_type"] == "application/json"
    path = url("longrun", document["id"])
    assert document["links"] == [
        {"rel": "self", "href": path},
        {"rel": "log", "href": path + "/log"},
        {"rel": "output", "href": path + "/output"},
    ]
    done = finished(api, wait, document["id"])
    assert done["status"] == "done", done
    assert done["progress"] == 1.0
    assert done["message"] == "step 3 of 3"
    assert done["result"] == {
        "status": "OK",
        "predictions": {"steps": 3, "pid": done["metrics"]["pid"]},
    }
    answer = api.get(path + "/output")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert answer.json == done["result"]  # what the synchronous predict answers


def test_a_json_body_works_as_for_a_synchronous_predict(api, wait):
    response = api.post("/v2/models/longrun/predict/", json={"steps": 1}, headers=ASYNC)
    assert response.status_code == 202
    assert finished(api, wait, response.json["id"])["result"]["predictions"]["steps"] == 1


@pytest.mark.parametrize("mode", ["bytes", "file", "path"])
def test_a_binary_output_comes_with_its_media_type(api, wait, mode):
    job = submit(api, "media", headers={"Accept": "text/csv"}, rows="2", mode=mode)
    assert job["media_type"] == "text/csv"
    done = finished(api, wait, job["id"], "media")
    assert done["status"] == "done" and done["result"] is None
    assert output(api, job["id"], "media") == (200, "text/csv", b"i,square\n0,0\n1,1\n")


def test_an_image_output(api, wait):
    job = submit(api, headers={"Accept": "image/png"}, steps="1")
    finished(api, wait, job["id"])
    status, media_type, body = output(api, job["id"])
    assert (status, media_type) == (200, "image/png")
    assert body.startswith(b"\x89PNG\r\n\x1a\n")


def test_uploads_are_kept_with_the_job_and_removed_when_it_ends(api, wait, data_dir):
    data = {"data": (io.BytesIO(b"hello async"), "note.txt", "text/plain"), "note": "n"}
    response = api.post("/v2/models/files/predict/", data=data, headers=ASYNC)
    assert response.status_code == 202, response.json
    job_id = response.json["id"]
    assert response.json["args"]["data"] == "note.txt"
    done = finished(api, wait, job_id, "files")
    predictions = done["result"]["predictions"]
    assert (predictions["original_filename"], predictions["size"]) == ("note.txt", 11)
    assert not (data_dir / "jobs" / job_id / "files").exists()


def test_a_batching_model_predicts_in_its_job_too(api, wait):
    job = submit(api, "tallied", x="2")
    assert finished(api, wait, job["id"], "tallied")["result"] == {"double": 4.0}  # its schema


def test_a_failing_model_ends_the_job_in_error(api, wait):
    job = submit(api, fail="true", steps="1")
    failed = finished(api, wait, job["id"])
    assert failed["status"] == "error"
    assert (
        failed["error"] == "Model 'longrun' failed in predict: RuntimeError: the forecast diverged"
    )
    answer = api.get(url("longrun", job["id"] + "/output"))
    assert answer.status_code == 409
    assert (
        answer.json["message"] == f"Prediction '{job['id']}' is error: it has an output once done."
    )


# -- refused at once ---------------------------------------------------------------------


def test_invalid_arguments_are_422_at_once_and_create_no_job(api):
    response = api.post("/v2/models/longrun/predict/", data={"steps": "0"}, headers=ASYNC)
    assert response.status_code == 422
    assert "steps" in response.json["errors"]
    assert api.get(url("longrun")).json == {"jobs": []}


def test_an_unacceptable_media_type_is_406_at_submission(api):
    headers = {**ASYNC, "Accept": "text/csv"}
    response = api.post("/v2/models/longrun/predict/", headers=headers)
    assert response.status_code == 406
    assert response.json["available"] == ["application/json", "image/png"]
    assert api.get(url("longrun")).json == {"jobs": []}


# -- list, cancel, remove ------------------------------------------------------------------


def test_list_shows_only_the_models_predictions_newest_first(api, wait):
    first = submit(api, steps="1")["id"]
    second = submit(api, steps="1")["id"]
    finished(api, wait, second)
    assert [job["id"] for job in api.get(url("longrun")).json["jobs"]] == [second, first]
    assert api.get(url("longrun") + "?status=done&limit=1").json["jobs"][0]["id"] == second
    assert api.get(url("media")).json == {"jobs": []}
    assert api.get(f"/v2/models/longrun/train/{first}").status_code == 501  # not a training


def test_cancel_a_running_prediction_stops_its_process(api, wait, gone):
    job_id = submit(api, steps="600", seconds="0.1")["id"]
    pid = wait(lambda: (get(api, job_id)["metrics"] or {}).get("pid"))
    response = api.delete(url("longrun", job_id))
    assert response.status_code == 200
    assert response.json["status"] == "cancelled"
    wait(lambda: gone(pid), timeout=10)
    assert get(api, job_id)["status"] == "cancelled"
    assert api.get(url("longrun", job_id + "/output")).status_code == 409


def test_delete_a_finished_prediction_removes_it_and_its_output(api, wait, data_dir):
    job_id = submit(api, headers={"Accept": "image/png"}, steps="1")["id"]
    finished(api, wait, job_id)
    assert (data_dir / "jobs" / job_id / "output").is_file()
    assert api.delete(url("longrun", job_id)).status_code == 200
    assert api.get(url("longrun", job_id)).status_code == 404
    assert not (data_dir / "jobs" / job_id).exists()


@pytest.mark.parametrize("rest", [SOME_ID, SOME_ID + "/log", SOME_ID + "/output"])
def test_unknown_predictions_are_404(api, rest):
    response = api.get(url("longrun", rest))
    assert response.status_code == 404
    assert response.json["message"] == f"No prediction '{SOME_ID}' for model 'longrun'."


def test_a_prediction_is_found_only_under_its_own_model(api):
    job_id = submit(api, steps="1")["id"]
    assert api.get(url("media", job_id)).status_code == 404


def test_predictions_and_training_jobs_are_kept_apart(api, wait):
    prediction = submit(api, "trainer")["id"]
    training = api.post("/v2/models/trainer/train/").json["id"]
    assert api.get(f"/v2/models/trainer/train/{prediction}").status_code == 404
    assert api.get(url("trainer", training)).status_code == 404
    assert [job["id"] for job in api.get(url("trainer")).json["jobs"]] == [prediction]
    listed = api.get("/v2/models/trainer/train/").json["jobs"]
    assert [job["id"] for job in listed] == [training]
    assert finished(api, wait, prediction, "trainer")["result"]["predictions"]["pid"] > 0


# -- documentation and authentication ------------------------------------------------------


def test_swagger_documents_the_preference_and_the_prediction_routes(api):
    spec = api.get("/swagger.json").json
    validate(spec)
    predict = spec["paths"]["/v2/models/longrun/predict/"]["post"]
    prefer = next(p for p in predict["parameters"] if p["name"] == "Prefer")
    assert (prefer["in"], prefer["enum"]) == ("header", ["respond-async"])
    assert predict["responses"]["202"]["schema"] == {"$ref": "#/definitions/Prediction"}
    assert "media_type" in spec["definitions"]["Prediction"]["properties"]
    paths = spec["paths"]
    listing = paths["/v2/models/longrun/predictions/"]
    assert set(listing) == {"get"}
    assert {p["name"] for p in listing["get"]["parameters"]} == {"status", "limit", "offset"}
    assert {"get", "delete"} <= set(paths["/v2/models/longrun/predictions/{job_id}"])
    output = paths["/v2/models/longrun/predictions/{job_id}/output"]["get"]
    assert output["produces"] == ["application/json", "image/png"]
    assert "409" in output["responses"]
    assert "/v2/models/longrun/predictions/{job_id}/log" in paths


def test_metadata_links_to_the_predictions(api):
    links = {link["rel"]: link["href"] for link in api.get("/v2/models/longrun/").json["links"]}
    assert links["predictions"] == url("longrun")


def test_browsers_of_other_origins_may_ask_for_asynchronous_predictions(discovery, jobs_backend):
    settings = Settings(cors_origins=("https://gui.example",))
    api = create_app(discovery.models, settings, jobs=jobs_backend).test_client()
    origin = {"Origin": "https://gui.example"}
    preflight = api.options(
        "/v2/models/longrun/predict/",
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Prefer",
        },
    )
    assert "prefer" in preflight.headers["Access-Control-Allow-Headers"].lower()
    answer = api.post("/v2/models/longrun/predict/", headers={**origin, **ASYNC})
    assert answer.status_code == 202
    exposed = answer.headers["Access-Control-Expose-Headers"]
    assert "Location" in exposed and "Preference-Applied" in exposed


def test_read_only_tokens_predict_but_cannot_start_asynchronous_predictions(
    discovery, jobs_backend
):
    settings = Settings(tokens=("full",), read_only_tokens=("reader",))
    api = create_app(discovery.models, settings, jobs=jobs_backend).test_client()
    reader = {"Authorization": "Bearer reader"}
    predict = "/v2/models/longrun/predict/"
    assert api.post(predict, data={"steps": "1"}, headers=reader).status_code == 200
    refused = api.post(predict, data={"steps": "1"}, headers={**reader, **ASYNC})
    assert refused.status_code == 403
    assert "asynchronous" in refused.json["message"]
    full = {"Authorization": "Bearer full"}
    job_id = api.post(predict, data={"steps": "1"}, headers={**full, **ASYNC}).json["id"]
    assert api.get(url("longrun", job_id), headers=reader).status_code == 200
    assert api.delete(url("longrun", job_id), headers=reader).status_code == 403
    spec = api.get("/swagger.json").json
    responses = spec["paths"][predict]["post"]["responses"]
    assert (
        responses["403"]["description"] == "Read-only token asking for an asynchronous prediction"
    )
