"""DEEPaaS v2 models served unchanged (tests/deepaas_models: real ``deepaas.v2.model`` entries).

``deepaas-class`` works on marshmallow 3 and 4; ``deepaas-legacy`` uses marshmallow 3's keyword
arguments, so it is served on marshmallow 3 and rejected (with the reason) on marshmallow 4.
"""

from __future__ import annotations

import datetime
import glob
import importlib
import importlib.metadata
import io
import json
import logging
import os
import pathlib
import sys
import tempfile
import zipfile

import pytest
import requests
from marshmallow import ValidationError, fields
from marshmallow.validate import OneOf
from openapi_spec_validator import validate

import deepserve
from deepserve.api import create_app
from deepserve.api.deepaas import marshmallow3_dates, training_job
from deepserve.arguments import response_schema
from deepserve.cli.install import ensure_compat
from deepserve.client import Client
from deepserve.deepaas import GROUP as DEEPAAS_GROUP
from deepserve.deepaas import accept_media_types, installed_deepaas, is_compat, load_hint
from deepserve.jobs.store import Job
from deepserve.loading import GROUP, discover
from deepserve.outputs import content_type
from deepserve.record import ModelRecord

MARSHMALLOW_4 = int(importlib.metadata.version("marshmallow").split(".")[0]) >= 4
needs_marshmallow_3 = pytest.mark.skipif(
    MARSHMALLOW_4, reason="deepaas-legacy needs marshmallow 3 keywords: `make test MARSHMALLOW=3`"
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IMAGE = b"\x00image bytes\xff" * 100


def image_upload(**data):
    return {"image": (io.BytesIO(IMAGE), "cat.jpg", "image/jpeg"), **data}


def upload_dirs() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "deepserve-upload-*")))


def rejection(discovery, name, group):
    return next(r for r in discovery.rejections if r.name == name and r.group == group)


@pytest.fixture
def fake_deepaas(tmp_path):
    """A stand-in for the real DEEPaaS, only its UploadedFile, ahead of compat/deepaas on the
    path (the real one needs Werkzeug<3 and webargs<6, which cannot be installed next to
    deepserve): the model receives whichever class ``deepaas`` provides."""
    wrapper = tmp_path / "deepaas" / "model" / "v2"
    wrapper.mkdir(parents=True)
    for package in (wrapper, wrapper.parent, wrapper.parent.parent):
        (package / "__init__.py").write_text("")
    (wrapper / "wrapper.py").write_text(
        "import collections\n"
        "UploadedFile = collections.namedtuple(\n"
        "    'UploadedFile', ('name', 'filename', 'content_type', 'original_filename')\n"
        ")\n"
    )
    importlib.invalidate_caches()
    yield tmp_path
    for module in [m for m in sys.modules if m == "deepaas" or m.startswith("deepaas.")]:
        del sys.modules[module]


# -- loading ---------------------------------------------------------------------------


def test_deepaas_entry_points_are_served(discovery):
    record = next(r for r in discovery.models if r.name == "deepaas-class")
    assert record.group == DEEPAAS_GROUP
    assert record.media_types == ("application/json", "image/*", "application/octet-stream")
    assert "accept" not in record.predict_args.fields  # negotiated from the Accept header


def test_deepserve_entry_point_wins_a_name_clash(discovery):
    served = [r for r in discovery.models if r.name == "echo"]
    assert [r.group for r in served] == [GROUP]
    clash = rejection(discovery, "echo", DEEPAAS_GROUP)
    assert clash.reason == "the deepserve.model entry point of this name wins"
    assert "deepaas_testmodels.current:ImageModel" in str(clash)


def test_accept_without_media_types_is_rejected(discovery):
    reason = rejection(discovery, "deepaas-badaccept", DEEPAAS_GROUP).reason
    assert "'accept'" in reason and "OneOf" in reason and "enum" in reason


def test_deepaas_group_can_be_left_out():
    discovery = discover(groups=(GROUP,))
    assert {r.group for r in discovery.models} == {GROUP}
    assert not [r for r in discovery.rejections if r.group == DEEPAAS_GROUP]


@pytest.mark.skipif(not MARSHMALLOW_4, reason="marshmallow 3 still accepts these keywords")
def test_marshmallow_3_keywords_reject_with_the_fix(discovery):
    reason = rejection(discovery, "deepaas-legacy", DEEPAAS_GROUP).reason
    assert "unexpected keyword argument 'description'" in reason
    assert "marshmallow<4" in reason and "docs/deepaas.md" in reason


@needs_marshmallow_3
def test_marshmallow_3_keywords_are_logged_once_not_raised(caplog):
    with caplog.at_level(logging.WARNING, logger="deepserve"):
        discovery = discover(["deepaas-legacy"])
    assert [r.name for r in discovery.models] == ["deepaas-legacy"]
    [message] = [r.getMessage() for r in caplog.records if "deepaas-legacy" in r.getMessage()]
    assert "'missing' argument to fields is deprecated" in message
    assert "docs/deepaas.md" in message


# -- predict over HTTP: deepaas-class (marshmallow 3 and 4) ----------------------------


def test_file_reaches_the_model_with_deepaas_attributes(client):
    before = upload_dirs()
    response = client.post("/v2/models/deepaas-class/predict/", data=image_upload())
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "name": "image",
        "original_filename": "cat.jpg",
        "content_type": "image/jpeg",
        "size": len(IMAGE),
        "deepaas_uploaded_file": True,  # deepserve's compat/deepaas provides the class
        "style": "plain",
    }
    assert upload_dirs() == before


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("text/html,application/xhtml+xml,*/*;q=0.8", "application/json"),
        ("image/png", "image/png"),  # from the returned file's name, within image/*
        ("image/*", "image/png"),
        ("application/octet-stream", "application/octet-stream"),
    ],
)
def test_accept_header_fills_the_accept_argument(client, accept, media_type):
    headers = {"Accept": accept} if accept else {}
    url = "/v2/models/deepaas-class/predict/"
    # buffered: read and close the body, as a WSGI server does (it may be an open file)
    response = client.post(url, data=image_upload(), headers=headers, buffered=True)
    assert response.status_code == 200
    assert response.mimetype == media_type
    if media_type == "image/png":
        assert response.data.startswith(PNG_SIGNATURE)
    if media_type == "application/octet-stream":
        assert response.data == IMAGE  # the model returned the upload as an open file


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (io.BytesIO(b"x"), "image/*"),  # nothing to tell which image type: the range
        (b"x", "image/*"),
        (pathlib.Path("out.jpeg"), "image/jpeg"),
        (pathlib.Path("out.csv"), "image/*"),  # not an image type: the range
    ],
)
def test_content_type_of_a_media_range(body, expected):
    assert content_type("image/*", body) == expected
    assert content_type("image/png", body) == "image/png"


def test_accept_sent_as_a_field_is_ignored_like_deepaas_does(client):
    # DEEPaaS's Swagger page documents accept as a query parameter; the header decides.
    response = client.post(
        "/v2/models/deepaas-class/predict/?accept=image/png",
        data=image_upload(accept="application/octet-stream"),
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    assert response.get_json()["original_filename"] == "cat.jpg"


def test_media_type_the_model_does_not_offer_is_406(client):
    response = client.post(
        "/v2/models/deepaas-class/predict/", data=image_upload(), headers={"Accept": "text/csv"}
    )
    assert response.status_code == 406
    assert response.get_json()["available"] == [
        "application/json",
        "image/*",
        "application/octet-stream",
    ]


@pytest.mark.parametrize(
    ("fail", "status", "message"),
    [
        ("client", 400, "the image is too dark"),
        (
            "unsupported",
            501,
            "Model 'deepaas-class' does not implement predict: not for this kind of image",
        ),
        ("crash", 500, "Model 'deepaas-class' failed in predict: RuntimeError: out of memory"),
    ],
)
def test_deepaas_ways_of_failing_answer_json(client, fail, status, message):
    response = client.post("/v2/models/deepaas-class/predict/", data=image_upload(fail=fail))
    assert response.status_code == status
    assert response.get_json() == {"message": message}


def test_file_argument_must_be_an_upload(client):
    missing = client.post("/v2/models/deepaas-class/predict/", data={"style": "fancy"})
    assert missing.status_code == 422
    assert "image" in missing.get_json()["errors"]
    text = client.post("/v2/models/deepaas-class/predict/", data={"image": "not a file"})
    assert text.status_code == 422
    assert text.get_json()["errors"] == {"image": ["Not a file upload."]}


def test_rows_of_the_difference_table_for_deepaas_models(client, cli):
    """docs/deepaas.md's rows on HEAD, undeclared arguments and disabled endpoints."""
    get = client.get("/v2/models/deepaas-class/")
    head = client.head("/v2/models/deepaas-class/")
    assert (head.status_code, head.data, head.content_type) == (200, b"", get.content_type)
    typo = client.post("/v2/models/deepaas-class/predict/", data=image_upload(styel="bold"))
    assert typo.status_code == 422
    assert typo.get_json()["errors"] == {"styel": ["Unknown field."]}
    switch = cli("run", "--predict-endpoint", "false")
    assert switch.returncode == 2 and "No such option '--predict-endpoint'" in switch.stderr


class Counter:
    """A second DEEPaaS model with a response schema (not installed: built as a record)."""

    schema = {"count": fields.Int(required=True)}

    def get_metadata(self):
        return {"name": "counter"}

    def get_predict_args(self):
        return {}

    def predict(self):
        return {"count": 1}


def test_the_first_deepaas_schema_is_the_prediction_response_definition(discovery):
    [image] = [record for record in discovery.models if record.name == "deepaas-class"]
    counter = ModelRecord("counter", Counter(), group=DEEPAAS_GROUP)
    for records, first in (([image, counter], "original_filename"), ([counter, image], "count")):
        spec = create_app(records).test_client().get("/swagger.json").get_json()
        response = spec["definitions"]["ModelPredictionResponse"]
        assert first in response["properties"], (first, response)
        refs = [
            spec["paths"][f"/v2/models/{record.name}/predict/"]["post"]["responses"]["200"]
            for record in records
        ]
        names = [ref["schema"]["$ref"].rpartition("/")[2] for ref in refs]
        assert names[0] == "ModelPredictionResponse" != names[1]  # the second has its own


def test_model_list_and_metadata_keep_deepaas_shapes(client):
    listed = client.get("/v2/models/").get_json()["models"]
    model = next(m for m in listed if m["id"] == "deepaas-class")
    assert model["name"] == "deepaas-class"
    assert model["description"] == "A DEEPaaS model written as a class."
    assert {"rel": "self", "href": "/v2/models/deepaas-class/"} in model["links"]
    assert client.get("/v2/models/deepaas-class/").get_json() == model


def test_versions_keep_deepaas_shapes(client):
    root = client.get("/").get_json()
    assert [v["id"] for v in root["versions"]] == ["v2"]
    assert {"describedby", "help"} <= {link["rel"] for link in root["links"]}  # as DEEPaaS
    assert (root["name"], root["version"]) == ("deepserve", deepserve.__version__)  # deepserve's
    assert {link["rel"]: link["href"] for link in root["links"]}["ui"] == "/ui/"
    v2 = client.get("/v2/").get_json()
    assert v2["id"] == "v2"
    assert {"rel": "self", "href": "/v2/", "type": "application/json"} in v2["links"]  # as DEEPaaS
    assert v2["version"] == "stable"


def test_spec_documents_deepaas_arguments_for_the_gui(client):
    spec = client.get("/swagger.json").get_json()
    validate(spec)
    operation = spec["paths"]["/v2/models/deepaas-class/predict/"]["post"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert set(params) == {"image", "style", "fail"}  # accept is the Accept header
    assert params["image"] == {
        "name": "image",
        "in": "formData",
        "description": "The image to process.",
        "required": True,
        "type": "file",
    }
    assert params["style"]["enum"] == ["plain", "fancy"]
    assert params["style"]["default"] == "plain"
    assert operation["produces"] == ["application/json", "image/*", "application/octet-stream"]
    response = operation["responses"]["200"]["schema"]
    schema = response if "properties" in response else spec["definitions"][response["$ref"][14:]]
    assert "deepaas_uploaded_file" in schema["properties"]


def test_cli_predict_runs_a_deepaas_model(cli, tmp_path):
    image = tmp_path / "cat.png"
    image.write_bytes(IMAGE)
    result = cli("predict", "deepaas-class", "--image", str(image), "--style", "fancy")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert (output["original_filename"], output["size"], output["style"]) == (
        "cat.png",
        len(IMAGE),
        "fancy",
    )


def test_cli_list_shows_groups_and_honours_no_deepaas(cli):
    rows = json.loads(cli("list", "--json").stdout)
    assert {"name": "deepaas-class", "status": "ok", "group": DEEPAAS_GROUP}.items() <= next(
        row for row in rows if row["name"] == "deepaas-class"
    ).items()
    for args, env in ((["--no-deepaas"], None), ([], {**os.environ, "DEEPSERVE_NO_DEEPAAS": "1"})):
        rows = json.loads(cli("list", "--json", *args, env=env).stdout)
        assert rows and {row["group"] for row in rows} == {GROUP}
    table = cli("list").stdout
    assert "deepaas-class      ok  [deepaas.v2.model: deepaas_testmodels.current:ImageModel]" in (
        table
    )


# -- DEEPaaS's own UploadedFile ---------------------------------------------------------


def test_files_are_deepaas_uploaded_files_when_deepaas_is_installed(fake_deepaas, monkeypatch):
    monkeypatch.syspath_prepend(str(fake_deepaas))
    app = create_app(discover(["deepaas-class"]).models)
    response = app.test_client().post("/v2/models/deepaas-class/predict/", data=image_upload())
    assert response.status_code == 200
    assert response.get_json()["deepaas_uploaded_file"] is True
    assert response.get_json()["original_filename"] == "cat.jpg"


@pytest.mark.e2e
def test_served_by_a_real_server_with_deepaas_installed(run_server, fake_deepaas):
    env = {"PYTHONPATH": str(fake_deepaas)}
    server = run_server("--model", "deepaas-class", "--workers", "2", env=env)
    url = server.url + "/v2/models/deepaas-class/predict/"
    files = {"image": ("cat.jpg", IMAGE, "image/jpeg")}
    described = requests.post(url, files=files, timeout=30)
    assert described.status_code == 200, described.text
    assert described.json()["deepaas_uploaded_file"] is True
    streamed = requests.post(
        url, files=files, headers={"Accept": "application/octet-stream"}, timeout=30
    )
    assert streamed.headers["Content-Type"] == "application/octet-stream"
    assert streamed.content == IMAGE
    failed = requests.post(url, files=files, data={"fail": "client"}, timeout=30)
    assert (failed.status_code, failed.json()) == (400, {"message": "the image is too dark"})
    models = requests.get(server.url + "/v2/models/", timeout=30).json()["models"]
    assert [m["id"] for m in models] == ["deepaas-class"]


# -- deepaas-legacy: marshmallow 3 keyword arguments ------------------------------------


@needs_marshmallow_3
def test_legacy_defaults_and_optional_file_default(client):
    response = client.post(
        "/v2/models/deepaas-legacy/predict/", data={"data": (io.BytesIO(b"abc"), "a.txt")}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["predictions"] == [
        {"label": "cat", "probability": 0.75},
        {"label": "dog", "probability": 0.2},
    ]
    assert (body["top"], body["mode"], body["mask"]) == (2, "fast", "None")  # from missing=
    assert body["original_filename"] == "a.txt"


@needs_marshmallow_3
def test_legacy_file_arguments_and_validation(client):
    data = {
        "data": (io.BytesIO(b"abc"), "a.txt"),
        "mask": (io.BytesIO(b"m"), "mask.png"),
        "top": "1",
    }
    response = client.post("/v2/models/deepaas-legacy/predict/", data=data)
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["mask"], response.get_json()["top"]) == ("file mask.png", 1)
    for wrong in ({"top": "9"}, {"mask": "not a file"}):
        data = {"data": (io.BytesIO(b"abc"), "a.txt"), **wrong}
        response = client.post("/v2/models/deepaas-legacy/predict/", data=data)
        assert response.status_code == 422
        assert set(response.get_json()["errors"]) == set(wrong)


@needs_marshmallow_3
def test_legacy_accept_streams_text_and_open_files(client):
    url = "/v2/models/deepaas-legacy/predict/"
    text = client.post(
        url, data={"data": (io.BytesIO(b"abc"), "a.txt")}, headers={"Accept": "text/plain"}
    )
    assert (text.mimetype, text.data) == ("text/plain", b"cat 0.75\ndog 0.2")
    archive = client.post(
        url,
        data={"data": (io.BytesIO(b"abc"), "a.txt")},
        headers={"Accept": "application/zip"},
        buffered=True,  # read and close the body, as a WSGI server does (it is an open file)
    )
    assert archive.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.data)) as zipped:
        assert zipped.read("a.txt") == b"abc"
        assert zipped.read("labels.txt") == b"cat dog"


@needs_marshmallow_3
def test_legacy_keywords_are_documented_in_the_spec(client):
    spec = client.get("/swagger.json").get_json()
    validate(spec)
    operation = spec["paths"]["/v2/models/deepaas-legacy/predict/"]["post"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["data"]["type"] == "file" and params["data"]["required"] is True
    assert params["mask"]["type"] == "file" and params["mask"]["required"] is False
    assert params["data"]["description"] == "Data file to label."
    assert params["top"]["default"] == 2
    assert (params["top"]["minimum"], params["top"]["maximum"]) == (1, 3)
    assert params["mode"]["enum"] == ["fast", "precise"]
    assert "accept" not in params
    assert operation["produces"] == ["application/json", "application/zip", "text/plain"]


@needs_marshmallow_3
def test_legacy_warm_and_train_are_passed_through(discovery):
    record = next(r for r in discovery.models if r.name == "deepaas-legacy")
    module = importlib.import_module("deepaas_testmodels.legacy")
    calls = module.WARM["calls"]
    record.warm()
    assert module.WARM["calls"] == calls + 1
    assert set(record.train_args.fields) == {"epochs"}
    assert record.obj.train(**record.train_args.load({"epochs": "3"})) == {"epochs": 3}


@needs_marshmallow_3
def test_legacy_model_trains_as_a_job_with_deepaas_fields(
    discovery, tmp_path, start_supervisor, wait
):
    start_supervisor("--data-dir", str(tmp_path), "deepaas-legacy")
    client = create_app(discovery.models, data_dir=tmp_path).test_client()
    url = "/v2/models/deepaas-legacy/train/"
    submitted = client.post(url, data={"epochs": "2"}).get_json()
    assert submitted["uuid"] == submitted["id"] and submitted["date"]

    def done():
        job = client.get(url + submitted["id"]).get_json()
        return job if job["status"] in ("done", "error") else None

    job = wait(done)
    assert (job["status"], job["result"]["output"]) == ("done", {"epochs": 2}), job


@needs_marshmallow_3
@pytest.mark.e2e
@pytest.mark.marshmallow3_e2e
def test_legacy_model_served_by_a_real_server(run_server):
    server = run_server("--model", "deepaas-legacy")
    response = requests.post(
        server.url + "/v2/models/deepaas-legacy/predict/",
        files={"data": ("a.txt", b"abc")},
        headers={"Accept": "application/zip"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as zipped:
        assert zipped.read("a.txt") == b"abc"
    assert "uses marshmallow 3 conventions" in server.output()


# -- DEEPaaS shapes, compatibility package -----------------------------------------------


@pytest.mark.parametrize(
    ("status", "shown", "extra"),
    [
        ("queued", "running", set()),  # DEEPaaS has no queue
        ("running", "running", set()),
        ("done", "done", {"result"}),
        ("error", "error", {"message"}),
        ("interrupted", "error", {"message"}),  # its process died
        ("cancelled", "cancelled", set()),
    ],
)
def test_training_jobs_show_deepaas_statuses(status, shown, extra):
    created = datetime.datetime(2024, 5, 1, 12, 0, 0, 250000).timestamp()
    job = Job(
        "ab" * 16, "m", status, {"epochs": 2}, created, created + 1, created + 61.5, result=7,
        error="boom" if status == "error" else None,
    )  # fmt: skip
    ours = {"id": job.id, "status": status, "result": 7, "message": None, "date": "d", "uuid": "u"}
    document = training_job(job, ours)
    assert document == {**ours, "status": shown, **{k: document[k] for k in extra}}
    if status == "done":
        assert document["result"] == {
            "output": 7,
            "finish_date": "2024-05-01 12:01:01.750000",
            "duration": "0:01:01.500000",
        }
    if extra == {"message"}:
        assert document["message"] == ("boom" if status == "error" else "interrupted")


def test_response_schema_reads_dates_as_marshmallow_3_did():
    schema = response_schema(
        {
            "day": fields.Date(),
            "when": fields.List(fields.Nested({"at": fields.DateTime(required=True)})),
        },
        "dates",
    )
    output = {"day": "2019-01-1", "when": [{"at": "2019-1-02T3:04:05"}]}
    marshmallow3_dates(schema).load(output)
    with pytest.raises(ValidationError):
        marshmallow3_dates(schema).load({"day": "January"})
    if MARSHMALLOW_4:
        with pytest.raises(ValidationError):  # the model's own schema is left as it was
            schema.load(output)


def test_the_installed_deepaas_is_the_compatibility_package():
    import deepaas
    from deepaas.model.v2.base import BaseModel
    from deepaas.model.v2.wrapper import UploadedFile

    assert deepaas.DEEPSERVE_COMPAT is True and is_compat(installed_deepaas())
    assert deepaas.__version__ == installed_deepaas()
    assert UploadedFile(name="a").filename is None  # DEEPaaS's defaults
    with pytest.raises(TypeError):  # every method is abstract, as in DEEPaaS
        type("Half", (BaseModel,), {"predict": lambda self, **kw: kw})()


def test_a_real_deepaas_is_never_replaced(tmp_path, monkeypatch, capsys):
    # a real DEEPaaS's metadata ahead on the path, as if pip had installed it
    (tmp_path / "deepaas-2.6.0.dist-info").mkdir()
    (tmp_path / "deepaas-2.6.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: deepaas\nVersion: 2.6.0\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert installed_deepaas() == "2.6.0" and not is_compat("2.6.0")
    ensure_compat()  # would run pip if it meant to install anything
    assert capsys.readouterr().out == (
        "DEEPaaS 2.6.0 is installed: its own 'deepaas' package is kept\n"
    )


def test_a_missing_deepaas_says_where_to_get_it():
    error = ModuleNotFoundError("No module named 'deepaas'", name="deepaas")
    assert "deepserve install" in load_hint(error) and "docs/deepaas.md" in load_hint(error)
    assert load_hint(ModuleNotFoundError("No module named 'torch'", name="torch")) == ""


def test_metadata_enum_only_documents(client):
    # docs/deepaas.md row "metadata={"enum": [...]}": documentation only, as in DEEPaaS
    response = client.post("/v2/models/deepaas-class/predict/", data=image_upload(style="odd"))
    assert (response.status_code, response.get_json()["style"]) == (200, "odd")


def test_a_train_raising_an_http_error_ends_as_error(discovery, tmp_path, start_supervisor, wait):
    # docs/deepaas.md rows "a train that raises an HTTP error" and "GET .../train/ options"
    start_supervisor("--data-dir", str(tmp_path), "deepaas-class")
    client = create_app(discovery.models, data_dir=tmp_path).test_client()
    url = "/v2/models/deepaas-class/train/"
    failing = client.post(url, data={"fail": "true"}).get_json()
    succeeding = client.post(url).get_json()

    def finished(job):
        found = client.get(url + job["uuid"]).get_json()
        return found if found["status"] in ("done", "error") else None

    assert wait(lambda: finished(failing))["message"] == "no training data"
    assert wait(lambda: finished(succeeding))["result"]["output"] == {"trained": True}
    errors = client.get(url, query_string={"status": "error"}).get_json()
    assert [job["uuid"] for job in errors] == [failing["uuid"]]
    assert len(client.get(url, query_string={"limit": 1}).get_json()) == 1


def test_the_first_accept_choice_is_the_default_as_in_deepaas():
    declared = fields.Str(
        load_default="text/plain", validate=OneOf(["application/json", "text/plain"])
    )
    assert accept_media_types(declared) == ("application/json", "text/plain")


def test_deepserve_models_keep_deepserve_shapes(client):
    assert "jobs" in client.get("/v2/models/trainer/train/").get_json()
    assert isinstance(client.get("/v2/models/deepaas-class/train/").get_json(), list)
    spec = client.get("/swagger.json").get_json()
    for model, status in (("trainer", "202"), ("deepaas-class", "200")):
        assert status in spec["paths"][f"/v2/models/{model}/train/"]["post"]["responses"]
    assert "echo.prediction" in spec["definitions"]


@pytest.mark.e2e
def test_the_python_client_follows_a_deepaas_model_training(run_server, tmp_path):
    server = run_server("--model", "deepaas-class", env={"DEEPSERVE_DATA_DIR": str(tmp_path)})
    with Client(server.url) as remote:
        job = remote.train("deepaas-class")
        assert job.wait(timeout=60)["output"] == {"trained": True}  # DEEPaaS's result
        assert job.status == "done"
        assert [found.id for found in remote.jobs("deepaas-class")] == [job.id]
