"""Every route and error status of the HTTP API, through the real app and test models."""

from __future__ import annotations

import io
import os

import pytest
from openapi_spec_validator import validate

from deepserve.api import create_app
from deepserve_testmodels.files import FilesModel

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


def test_root_lists_versions_and_links(client):
    body = client.get("/").get_json()
    assert [v["id"] for v in body["versions"]] == ["v2"]
    assert {link["href"] for link in body["links"]} == {"/swagger.json", "/api/", "/ui/"}


def test_v2_version_object(client):
    body = client.get("/v2/").get_json()
    assert body["id"] == "v2"
    assert {"rel": "models", "href": "/v2/models/", "type": "application/json"} in body["links"]


def test_model_list_carries_metadata_and_links(client):
    models = {m["id"]: m for m in client.get("/v2/models/").get_json()["models"]}
    assert not any(name.startswith("broken") for name in models)
    echo = models["echo"]
    assert echo["name"] == "echo" and echo["version"] == "1.0" and echo["tags"] == ["test"]
    assert {"rel": "predict", "href": "/v2/models/echo/predict/"} in echo["links"]
    assert {"rel": "validate", "href": "/v2/models/echo/validate/"} in echo["links"]
    assert models["instance"]["name"] == "instance"


def test_one_model_metadata(client):
    body = client.get("/v2/models/module/").get_json()
    assert body["id"] == "module" and body["links"][0]["href"] == "/v2/models/module/"


def test_predict_from_query_string(client):
    response = client.post("/v2/models/echo/predict/?text=ab&count=2&numbers=1&numbers=2")
    assert response.status_code == 200
    assert response.get_json() == {
        "text": "abab",
        "count": 2,
        "scale": 1.0,
        "flag": False,
        "color": "red",
        "numbers_sum": 3,
        "day": None,
    }


def test_predict_from_urlencoded_form(client):
    form = {"text": "x", "flag": "true", "day": "2024-02-29", "numbers": ["4", "5"]}
    body = client.post("/v2/models/echo/predict/", data=form).get_json()
    assert (body["flag"], body["day"], body["numbers_sum"]) == (True, "2024-02-29", 9)


def test_predict_from_json_body(client):
    body = client.post(
        "/v2/models/echo/predict/", json={"text": "j", "color": "blue", "numbers": [1, 2, 3]}
    ).get_json()
    assert (body["color"], body["numbers_sum"]) == ("blue", 6)


def test_predict_without_schema_is_wrapped_deepaas_style(client):
    response = client.post("/v2/models/instance/predict/", json={"x": 21})
    assert response.get_json() == {"status": "OK", "predictions": 42}


def test_module_model_with_dict_schema(client):
    response = client.post("/v2/models/module/predict/?a=1.5&b=2")
    assert response.get_json() == {"sum": 3.5}


def test_invalid_arguments_are_422_per_argument(client):
    response = client.post("/v2/models/echo/predict/", data={"count": "0", "color": "pink"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["message"] == "Invalid arguments"
    assert set(body["errors"]) == {"text", "count", "color"}


def test_unknown_arguments_are_422(client):
    response = client.post("/v2/models/echo/predict/", json={"text": "a", "colour": "red"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"colour": ["Unknown field."]}


@pytest.mark.parametrize(
    "data, status, message",
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 422, "must be an object"),
    ],
)
def test_bad_json_bodies(client, data, status, message):
    response = client.post("/v2/models/echo/predict/", data=data, content_type="application/json")
    assert response.status_code == status
    assert message in response.get_json()["message"]


def test_multipart_upload_reaches_model_as_file_on_disk_and_is_removed(client):
    content = os.urandom(300_000)
    response = client.post(
        "/v2/models/files/predict/",
        data={
            "data": (io.BytesIO(content), "scan.png", "image/png"),
            "extra": (io.BytesIO(b"abc"), "notes.txt"),
            "note": "hello",
        },
    )
    assert response.status_code == 200
    predictions = response.get_json()["predictions"]
    assert predictions["exists"] is True
    assert predictions["size"] == len(content)
    assert (predictions["name"], predictions["original_filename"]) == ("data", "scan.png")
    assert predictions["content_type"] == "image/png"
    assert predictions["extra_size"] == 3 and predictions["note"] == "hello"
    paths = FilesModel.seen_paths[-2:]
    assert all(not os.path.exists(path) for path in paths)
    assert not os.path.exists(os.path.dirname(paths[0]))
    assert os.path.basename(paths[0]) != "scan.png"  # client file names are never paths


def test_uploads_are_removed_when_arguments_are_invalid(client, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    response = client.post(
        "/v2/models/files/predict/",
        data={"data": (io.BytesIO(b"x" * 1000), "a.bin"), "bogus": (io.BytesIO(b"y"), "b")},
    )
    assert response.status_code == 422
    assert list(tmp_path.iterdir()) == []


def test_missing_file_is_422(client):
    response = client.post("/v2/models/files/predict/", data={"note": "no file"})
    assert response.status_code == 422
    assert "data" in response.get_json()["errors"]


def test_text_in_place_of_a_file_is_422(client):
    response = client.post("/v2/models/files/predict/", data={"data": "/etc/passwd"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"data": ["Not a file upload."]}


@pytest.mark.parametrize(
    "accept, media_type",
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        (BROWSER_ACCEPT, "application/json"),
        ("image/png", "image/png"),
        ("image/*", "image/png"),
        ("text/csv;q=0.5, image/png;q=0.9", "image/png"),
        ("text/csv, application/json;q=0.1", "text/csv"),
    ],
)
def test_accept_negotiation(client, accept, media_type):
    headers = {"Accept": accept} if accept else {}
    response = client.post("/v2/models/media/predict/", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == media_type


def test_binary_outputs(client):
    png = client.post("/v2/models/media/predict/", headers={"Accept": "image/png"}).data
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    for mode in ("bytes", "file", "path"):
        response = client.post(
            f"/v2/models/media/predict/?rows=2&mode={mode}",
            headers={"Accept": "text/csv"},
            buffered=True,  # closes the streamed file, as a WSGI server does
        )
        assert response.data.decode().splitlines() == ["i,square", "0,0", "1,1"], mode


def test_unsatisfiable_accept_is_406(client):
    response = client.post("/v2/models/media/predict/", headers={"Accept": "video/mp4"})
    assert response.status_code == 406
    assert "image/png" in response.get_json()["available"]


def test_json_only_model_with_image_accept_is_406(client):
    response = client.post("/v2/models/instance/predict/?x=1", headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert response.is_json


def test_output_breaking_the_schema_is_500_naming_fields(client):
    response = client.post("/v2/models/badoutput/predict/")
    assert response.status_code == 500
    body = response.get_json()
    assert "does not match its response schema" in body["message"]
    assert set(body["errors"]) == {"label", "score"}
    ok = client.post("/v2/models/badoutput/predict/?broken=false")
    assert ok.get_json() == {"label": "ok", "score": 0.5}


def test_model_exception_is_500_json_without_traceback(client):
    response = client.post("/v2/models/failing/predict/")
    assert response.status_code == 500
    body = response.get_json()
    assert body == {
        "message": "Model 'failing' failed in predict: RuntimeError: the model broke: secret detail"
    }
    assert b"Traceback" not in response.data


def test_validate(client):
    response = client.post("/v2/models/echo/validate/", json={"values": [1, 2, 6]})
    assert response.get_json() == {"status": "OK", "result": {"mean": 3.0, "n": 3}}
    assert client.post("/v2/models/echo/validate/", json={}).status_code == 422


def test_validate_not_implemented_is_501_and_not_documented(client):
    response = client.post("/v2/models/failing/validate/")
    assert response.status_code == 501
    assert response.get_json() == {"message": "Model 'failing' does not implement validate."}
    paths = client.get("/swagger.json").get_json()["paths"]
    assert "/v2/models/failing/validate/" not in paths
    assert "500" in paths["/v2/models/echo/validate/"]["post"]["responses"]


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/nowhere"),
        ("get", "/v2/models/nope/"),
        ("post", "/v2/models/nope/predict/"),
        ("post", "/v2/models/broken-args/predict/"),
        ("get", "/v2/models/echo/nothing-here"),
    ],
)
def test_unknown_urls_are_json_404(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 404
    assert response.is_json and response.get_json()["message"]


def test_unknown_model_404_lists_available(client):
    body = client.post("/v2/models/nope/predict/").get_json()
    assert "No model named 'nope'" in body["message"] and "echo" in body["available"]


def test_a_misspelt_model_name_gets_a_suggestion(client):
    response = client.post("/v2/models/ecoh/predict/?text=a")
    assert response.status_code == 404
    message = response.get_json()["message"]
    assert message.startswith(
        "No model named 'ecoh' is served; did you mean 'echo'? served models:"
    )


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/v2/models/broken-import/"),
        ("post", "/v2/models/broken-import/predict/"),
        ("post", "/v2/models/broken-import/train/"),
        ("get", "/v2/models/broken-import/ready"),
    ],
)
def test_a_model_that_failed_to_load_answers_503_with_the_reason(discovery, method, path):
    client = create_app(discovery.models, rejections=discovery.failures).test_client()
    response = getattr(client, method)(path)
    assert response.status_code == 503
    body = response.get_json()
    assert body["reason"].startswith("import failed: ModuleNotFoundError: No module named")
    assert (
        body["message"]
        == f"Model 'broken-import' is not served: it failed to load: {body['reason']}"
    )
    assert "echo" in body["available"]


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/v2/models/echo/predict/"),
        ("delete", "/v2/models/"),
        ("put", "/v2/models/echo/"),
        ("post", "/swagger.json"),
        ("post", "/api/"),
    ],
)
def test_wrong_method_is_json_405(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert response.is_json and "Allow" in response.headers


@pytest.mark.parametrize("method", ["TRACE", "PATCH", "FOO"])
def test_undeclared_methods_on_a_served_model_are_405_with_its_own_allow(client, method):
    # found by the fuzzer: the unknown-model route's methods leaked into Allow, and under
    # gunicorn (another hash seed) flask-restx's error router then crashed into an HTML 500
    response = client.open("/v2/models/echo/predict/", method=method)
    assert response.status_code == 405 and response.is_json
    assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}


def test_head_is_allowed_where_get_is(client):
    assert client.head("/v2/models/").status_code == 200


def test_swagger_is_valid_swagger_2(client):
    spec = client.get("/swagger.json").get_json()
    validate(spec)
    assert spec["swagger"] == "2.0"
    predict = spec["paths"]["/v2/models/files/predict/"]["post"]
    assert predict["consumes"] == ["multipart/form-data"]
    data = next(p for p in predict["parameters"] if p["name"] == "data")
    assert (data["in"], data["type"], data["required"]) == ("formData", "file", True)
    media = spec["paths"]["/v2/models/media/predict/"]["post"]
    assert "image/png" in media["produces"]
    assert not any(path.startswith("/v2/models/broken") for path in spec["paths"])


def test_swagger_documents_response_schema(client):
    spec = client.get("/swagger.json").get_json()
    ok = spec["paths"]["/v2/models/echo/predict/"]["post"]["responses"]["200"]
    definition = spec["definitions"][ok["schema"]["$ref"].rsplit("/", 1)[1]]
    assert definition["properties"]["numbers_sum"]["type"] == "integer"
    assert "Sum of the numbers" in definition["properties"]["numbers_sum"]["description"]


def test_swagger_ui_page(client):
    response = client.get("/api/")
    assert response.status_code == 200 and b"swagger" in response.data.lower()


def test_model_failure_is_logged_once_with_its_traceback(client, caplog):
    client.post("/v2/models/failing/predict/")
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1 and "the model broke" in str(tracebacks[0].exc_info[1])


def test_not_implemented_is_not_logged_as_a_crash(client, caplog):
    client.post("/v2/models/failing/validate/")
    assert not [r for r in caplog.records if r.exc_info]
