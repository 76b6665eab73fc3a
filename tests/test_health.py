"""Liveness and readiness probes: the status code carries the answer, the body says why."""

from __future__ import annotations

import pytest
import requests

from deepserve.api import create_app
from deepserve.loading import discover
from deepserve.settings import Settings


@pytest.fixture
def fresh():
    """An app over newly loaded models that nothing has warmed yet."""
    records = discover(["echo", "module"]).models
    return records, create_app(records).test_client()


def test_live_answers_while_the_process_is_up(client):
    response = client.get("/v2/health/live")
    assert response.status_code == 200 and response.get_json() == {"live": True}


def test_not_ready_until_every_model_warmed_in_this_process(fresh):
    records, client = fresh
    response = client.get("/v2/health/ready")
    assert response.status_code == 503
    assert response.get_json() == {
        "ready": False,
        "models": {"echo": False, "module": False},
        "rejected": {},
    }
    assert client.get("/v2/models/echo/ready").status_code == 503
    records[0].warm()
    assert client.get("/v2/models/echo/ready").get_json() == {"name": "echo", "ready": True}
    assert client.get("/v2/health/ready").status_code == 503  # module is not warmed yet
    records[1].warm()  # a model without warm() is ready once its (no-op) warm ran
    response = client.get("/v2/health/ready")
    assert response.status_code == 200
    assert response.get_json() == {
        "ready": True,
        "models": {"echo": True, "module": True},
        "rejected": {},
    }


def test_without_warming_models_are_ready_once_loaded():
    client = create_app(discover(["echo"]).models, Settings(warm=False)).test_client()
    assert client.get("/v2/health/ready").status_code == 200
    assert client.get("/v2/models/echo/ready").status_code == 200


def test_readiness_of_an_unknown_model_is_404(client):
    response = client.get("/v2/models/nope/ready")
    assert response.status_code == 404 and "echo" in response.get_json()["available"]


def test_models_that_failed_to_load_are_listed_apart_and_never_ready():
    discovery = discover(["echo", "broken-init"])
    app = create_app(discovery.models, Settings(warm=False), rejections=discovery.failures)
    response = app.test_client().get("/v2/health/ready")
    assert response.status_code == 200  # the models that loaded are ready
    assert response.get_json()["rejected"] == {
        "broken-init": "instantiating BadInitModel failed: ValueError: weights file missing"
    }
    broken = app.test_client().get("/v2/models/broken-init/ready")
    assert broken.status_code == 503 and "weights file missing" in broken.get_json()["reason"]


def test_probes_are_documented(client):
    paths = client.get("/swagger.json").get_json()["paths"]
    assert {"/v2/health/live", "/v2/health/ready", "/v2/models/echo/ready"} <= set(paths)
    assert "503" in paths["/v2/health/ready"]["get"]["responses"]


@pytest.mark.e2e
@pytest.mark.parametrize("warm", [[], ["--no-warm"]])
def test_a_real_server_is_ready_once_it_answers(run_server, warm):
    server = run_server("--workers", "2", "--model", "echo", "--model", "slow", *warm)
    for _ in range(4):  # whichever worker answers
        response = requests.get(server.url + "/v2/health/ready")
        assert response.status_code == 200 and response.json()["ready"] is True
    assert requests.get(server.url + "/v2/models/slow/ready").json()["ready"] is True
    assert requests.get(server.url + "/v2/health/live").json() == {"live": True}
