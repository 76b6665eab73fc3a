"""Optional bearer-token authentication, through the real app and a real server."""

from __future__ import annotations

import pytest
import requests
from openapi_spec_validator import validate

from deepserve.api import create_app
from deepserve.api.auth import read_only_allows
from deepserve.settings import Settings, read_tokens

FULL, ROTATED, READ_ONLY = "full-token-1", "full-token-2", "read-only-token"


@pytest.fixture(scope="module")
def secured(discovery):
    settings = Settings(tokens=(FULL, ROTATED), read_only_tokens=(READ_ONLY,))
    return create_app(discovery.models, settings).test_client()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_off_by_default(client):
    assert client.get("/v2/models/").status_code == 200
    assert "securityDefinitions" not in client.get("/swagger.json").get_json()


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("wrong"), {"Authorization": FULL}, {"Authorization": f"Basic {FULL}"}, bearer("")],
)
def test_missing_or_wrong_token_is_401_json_with_a_bearer_challenge(secured, headers):
    response = secured.get("/v2/models/", headers=headers)
    assert response.status_code == 401 and response.is_json
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert FULL not in response.get_data(as_text=True)


def test_non_ascii_token_is_401_not_500(secured):
    response = secured.get("/v2/models/", headers={"Authorization": "Bearer caf\xe9"})
    assert response.status_code == 401


@pytest.mark.parametrize("token", [FULL, ROTATED])
def test_every_configured_token_works(secured, token):
    assert secured.get("/v2/models/", headers=bearer(token)).status_code == 200
    response = secured.post("/v2/models/echo/predict/?text=a", headers=bearer(token))
    assert response.status_code == 200


def test_scheme_is_case_insensitive(secured):
    assert secured.get("/v2/", headers={"Authorization": f"bearer {FULL}"}).status_code == 200


@pytest.mark.parametrize(
    "path", ["/v2/models/", "/v2/models/echo/", "/v2/", "/metrics", "/nowhere", "/v2/models/x/"]
)
def test_everything_else_is_protected_even_404s(secured, path):
    assert secured.get(path).status_code == 401  # no token, no hint of what exists


@pytest.mark.parametrize(
    "path", ["/", "/v2/health/live", "/v2/health/ready", "/api/", "/swagger.json"]
)
def test_root_probes_docs_and_spec_are_open(secured, path):
    assert secured.get(path).status_code in (200, 503)


def test_swagger_ui_assets_are_open(secured):
    page = secured.get("/api/").get_data(as_text=True)
    asset = page.split('src="', 1)[1].split('"', 1)[0]
    assert asset.startswith("/swaggerui/")
    with secured.get(asset) as response:
        assert response.status_code == 200


def test_cors_preflight_needs_no_token(secured):
    assert secured.options("/v2/models/echo/predict/").status_code == 200


def test_read_only_token_reads_and_predicts(secured):
    headers = bearer(READ_ONLY)
    assert secured.get("/v2/models/", headers=headers).status_code == 200
    assert secured.get("/metrics", headers=headers).status_code == 200
    assert secured.post("/v2/models/echo/predict/?text=a", headers=headers).status_code == 200
    response = secured.post("/v2/models/echo/validate/", json={"values": [1]}, headers=headers)
    assert response.status_code == 200


def test_read_only_token_cannot_change_anything(secured):
    # the only changing route in core is the unknown-model catch-all: read-only gets 403
    response = secured.delete("/v2/models/nope/", headers=bearer(READ_ONLY))
    assert response.status_code == 403 and "read-only" in response.get_json()["message"]
    assert secured.delete("/v2/models/nope/", headers=bearer(FULL)).status_code == 404


@pytest.mark.parametrize(
    "method, rule, allowed",
    [
        ("GET", "/v2/models/<name>/train/", True),
        ("POST", "/v2/models/iris/train/", False),
        ("DELETE", "/v2/models/iris/train/<job>", False),
        ("POST", "/v2/models/iris/predict/", True),
        ("POST", "/v2/models/iris/validate/", True),
        ("PUT", "/v2/models/iris/predict/", False),
        ("POST", "/v2/models/iris/infer", True),  # the Open Inference Protocol's predict
        ("POST", "/v2/models/<name>/versions/<version>/infer", True),
        ("POST", "/v2/models/iris/inference", False),
    ],
)
def test_what_a_read_only_token_may_do(method, rule, allowed):
    assert read_only_allows(method, rule) is allowed


def test_spec_declares_the_scheme_on_protected_operations_only(secured):
    spec = secured.get("/swagger.json").get_json()
    validate(spec)
    scheme = spec["securityDefinitions"]["bearer"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    predict = spec["paths"]["/v2/models/echo/predict/"]["post"]
    assert predict["security"] == [{"bearer": []}]
    assert predict["responses"]["401"]["schema"] == {"$ref": "#/definitions/Error"}
    assert "security" not in spec["paths"]["/v2/health/ready"]["get"]


@pytest.mark.parametrize(
    "settings",
    [
        {"tokens": ("has space",)},
        {"tokens": ("",)},
        {"tokens": ("same",), "read_only_tokens": ("same",)},
    ],
)
def test_bad_tokens_are_refused(settings):
    with pytest.raises(ValueError):
        Settings(**settings)


def test_tokens_are_kept_out_of_repr():
    assert FULL not in repr(Settings(tokens=(FULL,)))


def test_token_files_skip_comments_and_blank_lines(tmp_path):
    path = tmp_path / "tokens"
    path.write_text("# rotated on Monday\nalpha\n\n  beta  \n   # old: gamma\n")
    assert read_tokens(path) == ["alpha", "beta"]


@pytest.mark.e2e
def test_auth_and_metrics_through_a_real_server_with_two_workers(run_server, tmp_path):
    token_file = tmp_path / "tokens"
    token_file.write_text("# current\nfile-token\n")
    server = run_server(
        "--workers", "2", "--model", "echo", "--token-file", str(token_file),
        "--read-only-token", READ_ONLY,
        env={"DEEPSERVE_TOKEN": f"{FULL} {ROTATED}"},
    )  # fmt: skip
    url = server.url + "/v2/models/echo/predict/?text=a"
    assert requests.post(url).status_code == 401
    assert requests.post(url, headers=bearer("nope")).status_code == 401
    for token in (FULL, ROTATED, "file-token", READ_ONLY):
        assert requests.post(url, headers=bearer(token)).status_code == 200
    assert requests.get(server.url + "/v2/health/ready").status_code == 200
    assert requests.get(server.url + "/metrics").status_code == 401
    # the requests above went to either worker; every scrape sees them all
    for _ in range(4):
        text = requests.get(server.url + "/metrics", headers=bearer(READ_ONLY)).text
        assert (
            'deepserve_requests_total{method="POST",model="echo",'
            'route="/v2/models/<name>/predict/",status="200"} 4.0' in text
        )
        assert (
            'deepserve_requests_total{method="POST",model="echo",'
            'route="/v2/models/<name>/predict/",status="401"} 2.0' in text
        )
        assert 'deepserve_predict_duration_seconds_count{model="echo"} 6.0' in text
    output = server.output()
    assert all(token not in output for token in (FULL, ROTATED, "file-token", READ_ONLY))
