"""DEEPaaS models answer as a real ``deepaas-run`` 2.6.0 does, route by route.

The answers were recorded by ``tests/deepaas_recording/record.py`` (DEEPaaS's own test model,
``deepaas-test``, and ``deepaas-query``); the same requests are replayed here against deepserve
serving DEEPaaS's test model, taken unchanged from the deepaas 2.6.0 wheel (downloaded now), on
whatever marshmallow the venv has. Where deepserve must answer differently, docs/deepaas.md
has a row, and the test asserts that row.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import deepaas_upstream as upstream
import pytest
import requests

from deepserve.api import create_app
from deepserve.loading import discover

FIXTURE = Path(__file__).parent / "deepaas_recording" / f"deepaas-{upstream.VERSION}.json"
RECORDED = json.loads(FIXTURE.read_text())["answers"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEEPAAS_DATE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$")
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
REQUESTS = {r["name"]: r for r in upstream.TEST_MODEL_REQUESTS + upstream.QUERY_MODEL_REQUESTS}


@pytest.fixture(scope="module")
def test_model_path(tmp_path_factory):
    """A directory on ``sys.path`` declaring DEEPaaS's test model, from the real wheel (for
    this module only: the other modules' discoveries do not see it)."""
    try:
        wheel = upstream.download_wheel(tmp_path_factory.mktemp("wheel"))
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        # A failure, not a skip: the comparison with DEEPaaS must not vanish silently in CI
        # (which reaches PyPI, as `make test` itself does).
        pytest.fail(f"deepaas {upstream.VERSION} cannot be downloaded from PyPI: {error}")
    path = upstream.test_model_dir(wheel, tmp_path_factory.mktemp("deepaas-test"))
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(path))
        yield path
    sys.modules.pop("deepaas_v2_test", None)


@pytest.fixture(scope="module")
def deepaas_test_client(test_model_path, tmp_path_factory):
    """deepserve serving DEEPaaS's test model alone, in this process."""
    discovery = discover([upstream.TEST_MODEL])
    assert [r.name for r in discovery.models] == [upstream.TEST_MODEL], discovery.rejections
    app = create_app(discovery.models, data_dir=tmp_path_factory.mktemp("data"))
    return app.test_client()


@pytest.fixture(scope="module")
def query_client():
    """deepserve serving deepaas-query alone, in this process."""
    return create_app(discover([upstream.QUERY_MODEL]).models).test_client()


def send(client, name: str, answers: dict):
    """Replay the recorded request ``name`` through a Flask test client."""
    request = REQUESTS[name]
    path = request["path"]
    if path.startswith("train-of:"):
        path = f"/v2/models/{upstream.TEST_MODEL}/train/" + answers[path[9:]]["uuid"]
    data = dict(request.get("form", {}))
    for field, (filename, text) in request.get("files", {}).items():
        data[field] = (io.BytesIO(text.encode()), filename)
    return client.open(
        path,
        method=request["method"],
        query_string=request.get("query"),
        data=data or None,
        headers=request.get("headers"),
        buffered=True,
    )


def body(response):
    """The body as recorded: JSON, text, or the digest of binary content."""
    if response.mimetype == "application/json":
        return response.get_json()
    if response.mimetype.startswith("text/"):
        return response.get_data(as_text=True)
    return {
        "sha256": hashlib.sha256(response.data).hexdigest(),
        "size": len(response.data),
        "start": base64.b64encode(response.data[:8]).decode(),
    }


def assert_same(response, name: str) -> None:
    recorded = RECORDED[name]
    assert (response.status_code, response.mimetype) == (
        recorded["status"],
        recorded["content_type"],
    ), (name, response.data[:300])
    assert body(response) == recorded["body"], name


# -- predict ---------------------------------------------------------------------------------

SAME_PREDICTIONS = [
    "predict",  # the output as the model returned it: "date": "2019-01-1", on marshmallow 4 too
    "predict-json",
    "predict-any",
    "predict-text",
    "predict-png",
    "predict-query",
    "predict-choice",
]


@pytest.mark.parametrize("name", SAME_PREDICTIONS)
def test_predictions_of_the_deepaas_test_model_are_deepaas_answers(deepaas_test_client, name):
    assert_same(send(deepaas_test_client, name, {}), name)
    assert RECORDED["predict"]["body"]["date"] == "2019-01-1"


@pytest.mark.parametrize(
    "name", ["query-default", "query-accept", "form-accept", "query-accept-header"]
)
def test_accept_from_the_query_or_form_as_deepaas_reads_it(query_client, name):
    assert_same(send(query_client, name, {}), name)


@pytest.mark.parametrize(
    ("client", "name"),
    [
        ("deepaas_test_client", "predict-missing"),
        ("deepaas_test_client", "predict-invalid"),
        ("deepaas_test_client", "predict-bad-choice"),
        ("query_client", "query-accept-invalid"),
    ],
)
def test_invalid_arguments_are_422_with_deepaas_messages_under_errors(request, client, name):
    # docs/deepaas.md row "invalid arguments": DEEPaaS's bare messages, in our envelope
    response = send(request.getfixturevalue(client), name, {})
    assert response.status_code == RECORDED[name]["status"] == 422
    assert response.get_json() == {"message": "Invalid arguments", "errors": RECORDED[name]["body"]}


def test_accept_header_nothing_can_answer_is_406_not_422(deepaas_test_client):
    # docs/deepaas.md row "Accept header"
    response = send(deepaas_test_client, "predict-bad-accept", {})
    assert (RECORDED["predict-bad-accept"]["status"], response.status_code) == (422, 406)
    assert response.get_json()["available"] == ["application/json", "text/plain", "image/png"]


# -- versions, models, spec ------------------------------------------------------------------


def test_versions_are_deepaas_versions_with_more_links(deepaas_test_client):
    # docs/deepaas.md row "GET /"
    ours = deepaas_test_client.get("/").get_json()
    theirs = RECORDED["versions"]["body"]
    [v2] = ours["versions"]
    assert {k: v for k, v in v2.items() if k != "links"} == {"id": "v2", "version": "stable"}
    assert theirs["versions"][0]["links"][0] in v2["links"]
    relations = {(link["rel"], link["type"]): link["href"] for link in ours["links"]}
    for link in theirs["links"]:
        assert relations[link["rel"], link["type"]].rstrip("/") == link["href"]
    assert deepaas_test_client.get("/v2/").get_json() == v2
    # DEEPaaS's own answer to GET /v2/, field for field, and a link to the models (same row)
    models = {"href": "/v2/models/", "rel": "models", "type": "application/json"}
    recorded = RECORDED["v2"]["body"]
    assert v2 == {**recorded, "links": [*recorded["links"], models]}


def test_model_list_and_metadata_are_deepaas_ones_but_id_and_links(deepaas_test_client):
    # docs/deepaas.md rows "id in a model's metadata" and "links of a model"
    [theirs] = RECORDED["models"]["body"]["models"]
    [ours] = deepaas_test_client.get("/v2/models/").get_json()["models"]
    assert (theirs["id"], ours["id"]) == ("0", upstream.TEST_MODEL)
    assert {k: v for k, v in ours.items() if k not in ("id", "links")} == {
        k: v for k, v in theirs.items() if k not in ("id", "links")
    }
    assert {"rel": "self", "href": theirs["links"][0]["href"] + "/"} in ours["links"]
    metadata = deepaas_test_client.get(f"/v2/models/{upstream.TEST_MODEL}/").get_json()
    assert metadata == ours
    assert RECORDED["metadata"]["body"] == theirs


def test_spec_names_the_response_model_prediction_response(deepaas_test_client):
    ours = deepaas_test_client.get("/swagger.json").get_json()
    theirs = RECORDED["spec"]["body"]
    response = ours["definitions"]["ModelPredictionResponse"]
    properties = theirs["definitions"]["ModelPredictionResponse"]["properties"]
    assert set(response["properties"]) == set(properties)
    for name in ("data", "date"):
        assert response["properties"][name] == properties[name]
    assert response["properties"]["labels"]["type"] == "array"
    path = f"/v2/models/{upstream.TEST_MODEL}/predict/"
    operation, recorded = ours["paths"][path]["post"], theirs["paths"][path]["post"]
    assert operation["responses"]["200"]["schema"] == {
        "$ref": "#/definitions/ModelPredictionResponse"
    }
    assert operation["produces"] == [t for t in recorded["produces"] if t != "*/*"]
    documented = {p["name"]: p for p in operation["parameters"]}
    for param in recorded["parameters"]:
        if param["in"] == "header":  # accept: the Accept header, as in DEEPaaS
            assert param["name"] not in documented
            continue
        keys = ("type", "required", "enum", "description")
        assert {k: documented[param["name"]].get(k) for k in keys} == {
            k: param.get(k) for k in keys
        }


# -- training --------------------------------------------------------------------------------


def deepaas_job(job: dict, recorded: dict) -> None:
    """``job`` has the keys and fixed values of the recorded DEEPaaS job (and deepserve's)."""
    assert set(recorded) <= set(job) and job["uuid"] == job["id"]
    assert (job["args"], job["status"]) == (recorded["args"], recorded["status"])
    assert JOB_ID.match(job["uuid"]) and DEEPAAS_DATE.match(job["date"])
    if "result" in recorded:
        assert set(job["result"]) == set(recorded["result"])
        assert job["result"]["output"] == recorded["result"]["output"]
        assert DEEPAAS_DATE.match(job["result"]["finish_date"])
        hours, minutes, seconds = job["result"]["duration"].split(":")
        assert datetime.timedelta(hours=int(hours), minutes=int(minutes), seconds=float(seconds))


def test_training_answers_in_deepaas_shapes(
    deepaas_test_client, test_model_path, start_supervisor, wait, monkeypatch
):
    data_dir = deepaas_test_client.application.extensions["deepserve"]["jobs"].data_dir
    monkeypatch.setenv("PYTHONPATH", str(test_model_path))
    start_supervisor("--data-dir", str(data_dir), upstream.TEST_MODEL)
    client, answers = deepaas_test_client, {}
    url = f"/v2/models/{upstream.TEST_MODEL}/train/"
    assert client.get(url).get_json() == RECORDED["train-list-empty"]["body"] == []

    for name in ("train", "train-missing", "train-long"):
        response = send(client, name, answers)
        assert response.status_code == RECORDED[name]["status"], response.get_json()
        answers[name] = response.get_json()
    assert answers["train-missing"]["errors"] == RECORDED["train-missing"]["body"]
    deepaas_job(answers["train"], RECORDED["train"]["body"])  # "running": DEEPaaS has no queue

    def finished():
        job = send(client, "train-get-done", answers).get_json()
        return job if job["status"] == "done" else None

    done = wait(finished)
    deepaas_job(done, RECORDED["train-get-done"]["body"])
    listed = send(client, "train-list", answers).get_json()
    assert isinstance(listed, list) and done in listed
    # docs/deepaas.md row "cancelling a training": DEEPaaS 2.6 answers 500
    cancelled = send(client, "train-delete", answers)
    assert (RECORDED["train-delete"]["status"], cancelled.status_code) == (500, 200)
    assert cancelled.get_json()["status"] == "cancelled"
    unknown = send(client, "train-unknown", answers)
    assert unknown.status_code == RECORDED["train-unknown"]["status"] == 404
    assert unknown.get_json()["message"]  # docs/deepaas.md row "errors": JSON


# -- the DEEPaaS Gradio UI -------------------------------------------------------------------


def test_what_the_deepaas_gradio_ui_does_works(deepaas_test_client):
    """Read the spec and call predict as ai4os/deepaas_ui does (launch.py, ui_utils.py)."""
    client = deepaas_test_client
    spec = client.get("/swagger.json").get_json()
    [path] = [p for p in spec["paths"] if p.endswith("predict/")]
    url = "/".join(part.strip("/") for part in ["", path])  # the UI's join drops the slash
    inputs = spec["paths"][path]["post"]["parameters"]
    for param in inputs:
        param.setdefault("type", "string")
    values = {"data": "cat.png", "parameter": 3, "parameter_three": "foo"}
    mimes = [mime for mime in spec["paths"][path]["post"]["produces"] if mime != "*/*"]
    assert mimes == ["application/json", "text/plain", "image/png"]
    outputs = spec["definitions"]["ModelPredictionResponse"]["properties"]
    for mime in mimes:
        params = {p["name"]: values[p["name"]] for p in inputs if p["type"] != "file"}
        files = {
            p["name"]: (io.BytesIO(PNG_SIGNATURE), values[p["name"]])
            for p in inputs
            if p["type"] == "file"
        }
        params["accept"] = mime  # the UI sends it as a parameter and as the header
        response = client.post(
            url,
            query_string=params,
            data=files,
            headers={"accept": mime},
            buffered=True,
            follow_redirects=True,  # as requests does: 308 to the slashed path, body kept
        )
        assert response.status_code == 200, response.data
        assert [r.status_code for r in response.history] == [308]
        if mime == "application/json":
            answer = json.loads(response.data.decode("utf-8"))
            assert answer.get("status", "") != "error"
            assert {label: answer.get(label) for label in outputs} == {
                "date": "2019-01-1",
                "labels": [{"label": "foo", "probability": 1.0}],
                "data": answer["data"],
            }
        elif mime == "image/png":
            assert response.data.startswith(PNG_SIGNATURE)
        else:
            assert response.data.startswith(b"data:image/png;base64,")
    metadata = client.get(f"{Path(path).parent}/").get_json()
    assert metadata["name"] == upstream.TEST_MODEL and metadata["description"]


def test_cli_predict_gives_the_output_as_it_is(cli, test_model_path, tmp_path):
    data = tmp_path / upstream.DATA[0]
    data.write_text(upstream.DATA[1])
    env = {**os.environ, "PYTHONPATH": str(test_model_path)}
    result = cli("predict", upstream.TEST_MODEL, "--data", str(data), "--parameter", "1", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == RECORDED["predict"]["body"]


# -- a real server ---------------------------------------------------------------------------


@pytest.mark.e2e
def test_a_real_server_answers_as_deepaas(run_server, test_model_path):
    server = run_server("--model", upstream.TEST_MODEL, env={"PYTHONPATH": str(test_model_path)})
    url = server.url + f"/v2/models/{upstream.TEST_MODEL}/predict/"
    files = {"data": upstream.DATA}
    for name, headers in (("predict", {}), ("predict-png", {"Accept": "image/png"})):
        response = requests.post(url, files=files, data={"parameter": "1"}, headers=headers)
        recorded = RECORDED[name]
        assert response.status_code == recorded["status"]
        if name == "predict":
            assert response.json() == recorded["body"]
        else:
            assert hashlib.sha256(response.content).hexdigest() == recorded["body"]["sha256"]
    train = requests.post(url.replace("predict/", "train/"), params={"sleep": "0"}, timeout=30)
    assert train.status_code == 200 and train.json()["status"] == "running"
    listed = requests.get(url.replace("predict/", "train/"), timeout=30).json()
    assert [job["uuid"] for job in listed] == [train.json()["uuid"]]


def test_routes_deepaas_has_and_deepserve_does_not(deepaas_test_client):
    # docs/deepaas.md rows "GET /v2/debug/" and "GET /ui"
    debug = deepaas_test_client.get("/v2/debug/")
    assert (debug.status_code, debug.mimetype) == (404, "application/json")
    assert "/v2/debug/" in RECORDED["spec"]["body"]["paths"]
    ui = deepaas_test_client.get("/ui")
    assert ui.status_code == 308 and ui.headers["Location"].endswith("/ui/")
