"""Request IDs, security headers, size limit, CORS, base path, proxies, private temp files, logs."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import tempfile

import pytest
import requests
from werkzeug.test import EnvironBuilder

from deepserve.api import create_app
from deepserve.api.uploads import StreamingRequest
from deepserve.loading import discover
from deepserve.settings import Settings, parse_size
from deepserve_testmodels.files import FilesModel


def app_with(**settings):
    return create_app(discover(["echo", "files"]).models, Settings(**settings))


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Temporary files of this test go to (initially empty) ``tmp_path``."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    return tmp_path


# Request IDs


def test_a_request_id_is_generated_for_every_answer(client):
    first, second = client.get("/v2/").headers, client.get("/nowhere").headers
    assert len(first["X-Request-ID"]) == 32 and first["X-Request-ID"] != second["X-Request-ID"]


def test_a_sane_incoming_request_id_is_echoed(client):
    response = client.get("/v2/", headers={"X-Request-ID": "edge-7f3a:42"})
    assert response.headers["X-Request-ID"] == "edge-7f3a:42"


@pytest.mark.parametrize("given", ["x" * 129, "two words", "<script>", "é"])
def test_an_insane_incoming_request_id_is_replaced(client, given):
    response = client.get("/v2/", headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] != given
    assert len(response.headers["X-Request-ID"]) == 32


# Security headers


@pytest.mark.parametrize("path", ["/", "/v2/models/", "/nowhere", "/swagger.json"])
def test_json_answers_forbid_sniffing_framing_and_loading_anything(client, path):
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_swagger_ui_page_policy_allows_only_its_own_scripts_and_styles(client):
    headers = client.get("/api/").headers
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src 'self' 'unsafe-inline'" in policy  # restx's page has an inline script
    assert headers["X-Content-Type-Options"] == "nosniff"


# Size limit


@pytest.mark.parametrize(
    "text, size",
    [("1024", 1024), ("500K", 500 * 1024), ("500M", 500 * 1024**2), ("1G", 1024**3),
     ("2g", 2 * 1024**3), ("1GiB", 1024**3), ("3 MB", 3 * 1024**2)],
)  # fmt: skip
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "1X", "-1", "1.5G", "G"])
def test_bad_sizes(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_default_limit_is_one_gib(client):
    assert client.application.config["MAX_CONTENT_LENGTH"] == 1024**3


def test_a_body_over_the_limit_is_413_json_and_nothing_is_stored(private_tmp):
    client = app_with(max_upload_size=1024).test_client()
    response = client.post(
        "/v2/models/files/predict/", data={"data": (io.BytesIO(b"x" * 2000), "big.bin")}
    )
    assert response.status_code == 413
    assert response.get_json() == {
        "message": "The request body is larger than the limit of 1024 bytes."
    }
    assert list(private_tmp.iterdir()) == []
    small = client.post("/v2/models/files/predict/", data={"data": (io.BytesIO(b"x"), "a")})
    assert small.status_code == 200


def test_the_limit_applies_to_json_bodies_too():
    client = app_with(max_upload_size=100).test_client()
    response = client.post("/v2/models/echo/predict/", json={"text": "x" * 200})
    assert response.status_code == 413 and response.is_json


# Private temporary files


def test_uploads_go_to_a_private_directory_under_a_name_of_our_own(private_tmp):
    environ = EnvironBuilder(
        method="POST", data={"data": (io.BytesIO(b"abc"), "../../etc/evil.sh")}
    ).get_environ()
    request = StreamingRequest(environ)
    stored = request.files["data"].stream.name
    upload_dir = os.path.dirname(stored)
    assert os.path.dirname(upload_dir) == str(private_tmp)
    assert stat.S_IMODE(os.stat(upload_dir).st_mode) == 0o700
    assert os.path.basename(stored).startswith("part-") and "evil" not in stored
    request.close()
    assert not os.path.exists(upload_dir)


def test_a_traversing_file_name_reaches_the_model_only_as_a_name(client):
    response = client.post(
        "/v2/models/files/predict/", data={"data": (io.BytesIO(b"abc"), "../../etc/passwd")}
    )
    predictions = response.get_json()["predictions"]
    assert predictions["original_filename"] == "../../etc/passwd"
    assert "passwd" not in FilesModel.seen_paths[-1]


# CORS


def test_cors_is_off_by_default(client):
    response = client.get("/v2/models/", headers={"Origin": "https://gui.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_allows_the_configured_origins_only():
    client = app_with(cors_origins=("https://gui.example",), tokens=("t",)).test_client()
    preflight = client.options(
        "/v2/models/echo/predict/",
        headers={
            "Origin": "https://gui.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://gui.example"
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    answer = client.post(
        "/v2/models/echo/predict/?text=a",
        headers={"Origin": "https://gui.example", "Authorization": "Bearer t"},
    )
    assert answer.headers["Access-Control-Allow-Origin"] == "https://gui.example"
    assert "X-Request-ID" in answer.headers["Access-Control-Expose-Headers"]
    other = client.get("/", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


# Base path and proxies


def test_everything_is_served_under_the_base_path():
    client = app_with(base_path="/models-api/").test_client()
    root = client.get("/models-api/").get_json()
    assert {link["href"] for link in root["links"]} == {
        "/models-api/swagger.json",
        "/models-api/api/",
        "/models-api/ui/",
    }
    with client.get("/models-api/ui/") as gui:
        assert gui.status_code == 200 and 'src="app.js"' in gui.get_data(as_text=True)
    redirect = client.get("/models-api")
    assert redirect.status_code == 308 and redirect.location.endswith("/models-api/")
    echo = client.get("/models-api/v2/models/echo/").get_json()
    assert echo["links"][0]["href"] == "/models-api/v2/models/echo/"
    assert client.get("/models-api/swagger.json").get_json()["basePath"] == "/models-api"
    page = client.get("/models-api/api/").get_data(as_text=True)
    assert 'src="/models-api/swaggerui/' in page and '"/models-api/swagger.json"' in page
    assert client.post("/models-api/v2/models/echo/predict/?text=a").status_code == 200


@pytest.mark.parametrize("path", ["/", "/v2/models/", "/models-apix/v2/", "/other/models-api/"])
def test_outside_the_base_path_is_a_json_404(path):
    response = app_with(base_path="/models-api").test_client().get(path)
    assert response.status_code == 404 and response.is_json
    assert "/models-api/" in response.get_json()["message"]


@pytest.mark.parametrize("base_path", ["/a/../b", "//", "/a//b"])
def test_bad_base_paths_are_refused(base_path):
    if base_path == "//":
        assert Settings(base_path=base_path).base_path == ""
        return
    with pytest.raises(ValueError):
        Settings(base_path=base_path)


FORWARDED = {
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "models.example",
    "X-Forwarded-Prefix": "/ml",
}


def test_forwarded_headers_are_ignored_without_proxy(client):
    root = client.get("/", headers=FORWARDED).get_json()
    assert root["links"][0]["href"] == "/swagger.json"
    assert client.get("/swagger.json", headers=FORWARDED).get_json()["basePath"] == "/"


def test_forwarded_headers_of_a_trusted_proxy_shape_links_and_spec():
    client = app_with(proxy_count=1, base_path="/api-v").test_client()
    root = client.get("/api-v/", headers=FORWARDED).get_json()
    assert root["links"][0]["href"] == "/ml/api-v/swagger.json"
    spec = client.get("/api-v/swagger.json", headers=FORWARDED).get_json()
    assert spec["basePath"] == "/ml/api-v"
    direct = client.get("/api-v/swagger.json").get_json()  # the same server, not proxied
    assert direct["basePath"] == "/api-v"
    page = client.get("/api-v/api/", headers=FORWARDED).get_data(as_text=True)
    assert 'src="/ml/api-v/swaggerui/' in page


# Through a real server


@pytest.mark.e2e
def test_limits_base_path_proxy_and_json_logs_in_a_real_server(run_server, tmp_path, wait):
    server = run_server(
        "--model", "files", "--model", "trainer", "--data-dir", str(tmp_path / "data"),
        "--max-upload-size", "1K", "--base-path", "/m", "--proxy", "1",
        "--log-format", "json", "--cors-origin", "https://gui.example",
        env={"TMPDIR": str(tmp_path)}, ready_path="/m/v2/health/live",
    )  # fmt: skip
    url = server.url + "/m/v2/models/files/predict/"
    too_big = requests.post(url, files={"data": ("a.bin", b"x" * 3000)})
    assert too_big.status_code == 413 and too_big.json()["message"]

    def chunks():  # no Content-Length: the limit applies while the body streams in
        yield b'--b\r\nContent-Disposition: form-data; name="data"; filename="a"\r\n\r\n'
        yield from (b"y" * 800 for _ in range(4))
        yield b"\r\n--b--\r\n"

    streamed = requests.post(
        url, data=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert streamed.status_code == 413 and streamed.json()["message"]
    assert not list(tmp_path.glob("**/deepserve-upload-*"))
    ok = requests.post(
        url,
        files={"data": ("a.bin", b"x" * 100)},
        headers={
            **FORWARDED,
            "X-Request-ID": "trace-1",
            "Origin": "https://gui.example",
            "User-Agent": 'probe "quoted"',
        },
    )
    assert ok.status_code == 200 and ok.headers["X-Request-ID"] == "trace-1"
    assert ok.headers["Access-Control-Allow-Origin"] == "https://gui.example"
    root = requests.get(server.url + "/m/", headers=FORWARDED).json()
    assert (
        root["links"][0]["href"]
        == "https://models.example/ml/m/swagger.json".split("models.example")[1]
    )
    assert requests.get(server.url + "/elsewhere").status_code == 404
    job = requests.post(server.url + "/m/v2/models/trainer/train/?seconds=0").json()
    wait(lambda: requests.get(server.url + job["links"][0]["href"]).json()["status"] == "done")
    server.stop()
    records = [json.loads(line) for line in server.output().splitlines()]  # every line
    assert any(record.get("component") == "jobs" for record in records)  # the job supervisor
    access = next(r for r in records if r.get("request_id") == "trace-1")
    assert (access["logger"], access["method"], access["status"]) == (
        "gunicorn.access",
        "POST",
        200,
    )
    assert access["remote_addr"] == "203.0.113.9"  # from X-Forwarded-For, one proxy trusted
    assert access["path"] == "/m/v2/models/files/predict/"
    assert access["user_agent"] == 'probe "quoted"'


@pytest.mark.e2e
def test_text_access_log_is_the_combined_line_with_the_request_id(run_server):
    server = run_server("--model", "echo", "--no-warm")
    requests.get(
        server.url + "/v2/?x=1",
        headers={"X-Request-ID": "abc-123", "User-Agent": 'probe "q"', "Referer": "http://a/"},
    )
    server.stop()
    line = re.compile(
        r"127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "
        r'"GET /v2/\?x=1 HTTP/1\.1" 200 \d+ "http://a/" "probe \\"q\\"" abc-123 \d+ms$'
    )
    assert any(line.search(text) for text in server.output().splitlines()), server.output()


@pytest.mark.e2e
def test_no_access_log_drops_the_line_per_request_only(run_server):
    server = run_server("--model", "echo", "--no-warm", "--no-access-log")
    assert requests.get(server.url + "/v2/", headers={"X-Request-ID": "abc-123"}).ok
    server.stop()
    assert "abc-123" not in server.output() and "GET /v2/" not in server.output()
    assert "Booting worker" in server.output()


@pytest.mark.e2e
@pytest.mark.parametrize(
    "option, message",
    [
        (["--max-upload-size", "lots"], "is not a size"),
        (["--base-path", "/a/../b"], "'..'"),
        (["--token", "has space"], "printable ASCII"),
        (["--token-file", "/nonexistent/tokens"], "cannot read a token file"),
    ],
)
def test_bad_options_are_usage_errors(cli, option, message):
    result = cli("run", "--model", "echo", *option)
    assert result.returncode == 2 and message in result.stderr


def test_training_uploads_are_kept_in_a_private_jobs_directory(tmp_path):
    app = create_app(discover(["trainer"]).models, data_dir=tmp_path)
    app.extensions["deepserve"]["jobs"].initialise()  # as `deepserve run` does at start-up
    response = app.test_client().post(
        "/v2/models/trainer/train/", data={"data": (io.BytesIO(b"1,2\n"), "../../x.csv")}
    )
    assert response.status_code == 202
    assert stat.S_IMODE(os.stat(tmp_path / "jobs").st_mode) == 0o700
    stored = list((tmp_path / "jobs").glob("*/files/*"))
    assert [path.name for path in stored] == ["data"]  # the argument's name, not the client's
