"""Every bad input is a JSON 4xx, never a 5xx: property tests over every operation of the spec.

Hypothesis sends, to every operation the live ``/swagger.json`` documents, values Python or a
database cannot hold (integers past int64, past the 4300 digits Python converts, past what a
float holds), JSON nested past the recursion limit, and multipart bodies cut anywhere; the
instances from issue 16 are kept as examples.
"""

from __future__ import annotations

import io
import json
import tempfile

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from deepserve.api import create_app
from deepserve.loading import discover

# Not `failing` and `badoutput` (their 500s are what they test) nor `slow` (time).
MODELS = ["echo", "instance", "module", "files", "media", "widgets", "trainer", "iris"]
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    app = create_app(discover(MODELS).models, data_dir=tmp_path_factory.mktemp("data"))
    app.extensions["deepserve"]["jobs"].initialise()
    client = app.test_client()
    return client, operations(client.get("/swagger.json").get_json())


def operations(spec: dict) -> list[tuple[str, str, list[str]]]:
    """(method, path with its parameters filled in, names of its query/form parameters)."""
    found = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if method == "parameters":
                continue
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] != "path"]
            found.append((method.upper(), path.replace("{", "").replace("}", ""), names))
    return sorted(found)


huge_integers = st.one_of(
    st.sampled_from([2**63, 2**64, -(2**63) - 1, 10**400, -(10**400)]),
    st.integers(min_value=2**63).map(lambda n: n * 10**300),
)
hostile_text = st.one_of(
    huge_integers.map(str),
    st.integers(4301, 6000).map(lambda digits: "9" * digits),
    st.sampled_from(["1e400", "-1e400", "nan", "inf", "9" * 400 + ".5"]),
)


def assert_json_4xx_or_success(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert response.is_json and response.get_json()["message"]


@SETTINGS
@given(data=st.data(), value=hostile_text)
@example(data=None, value="9223372036854775808")  # the offset of issue 16
def test_hostile_numbers_in_the_query_or_form_are_refused(api, data, value):
    client, found = api
    if data is None:
        method, path, name = "GET", "/v2/models/trainer/train/", "offset"
    else:
        method, path, names = data.draw(st.sampled_from([op for op in found if op[2]]))
        name = data.draw(st.sampled_from(names))
    assert_json_4xx_or_success(client.open(path, method=method, query_string={name: value}))
    if method == "POST":
        assert_json_4xx_or_success(client.open(path, method=method, data={name: value}))


@SETTINGS
@given(data=st.data(), number=hostile_text.filter(lambda text: text not in ("nan", "inf")))
def test_hostile_numbers_in_a_json_body_are_refused(api, data, number):
    client, found = api
    method, path, names = data.draw(st.sampled_from([op for op in found if op[0] == "POST"]))
    name = data.draw(st.sampled_from(names)) if names else "x"
    body = f'{{"{name}": {number}}}'
    response = client.open(path, method=method, data=body, content_type="application/json")
    assert_json_4xx_or_success(response)


@SETTINGS
@given(data=st.data(), depth=st.integers(1, 200_000))
@example(data=None, depth=100_000)
def test_json_nested_at_any_depth_is_refused_or_accepted(api, data, depth):
    client, found = api
    posts = [op for op in found if op[0] == "POST"]
    method, path, names = data.draw(st.sampled_from(posts)) if data else posts[0]
    name = data.draw(st.sampled_from(names)) if data and names else "x"
    body = f'{{"{name}": {"[" * depth}{"]" * depth}}}'
    response = client.open(path, method=method, data=body, content_type="application/json")
    assert_json_4xx_or_success(response)


MULTIPART = (
    b'--b\r\nContent-Disposition: form-data; name="data"; filename="a.txt"\r\n'
    b"Content-Type: text/plain\r\n\r\nsome content\r\n--b--"
)


@SETTINGS
@given(cut=st.integers(1, len(MULTIPART) - 1))
def test_a_multipart_body_cut_short_is_a_400_and_leaves_no_file(api, cut, tmp_path_factory):
    client, _ = api
    response = client.post(
        "/v2/models/files/predict/",
        data=MULTIPART[:cut],
        content_type="multipart/form-data; boundary=b",
    )
    assert response.status_code == 400 and response.is_json
    assert "malformed or incomplete" in response.get_json()["message"]


def test_a_whole_multipart_body_is_read(api):
    client, _ = api
    response = client.post(
        "/v2/models/files/predict/", data=MULTIPART, content_type="multipart/form-data; boundary=b"
    )
    assert response.status_code == 200
    assert response.get_json()["predictions"]["original_filename"] == "a.txt"


def test_an_empty_multipart_body_is_an_empty_form(api):
    client, _ = api
    response = client.post(
        "/v2/models/echo/predict/?text=a", data=b"", content_type="multipart/form-data; boundary=b"
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body, message",
    [
        ('{"text": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        ('{"text": "a", "count": ' + "1" * 5000 + "}", "number too long"),
    ],
)
def test_issue_16_bodies_are_400(api, body, message):
    client, _ = api
    for path in ("/v2/models/echo/predict/", "/v2/models/trainer/train/"):
        response = client.post(path, data=body, content_type="application/json")
        assert response.status_code == 400 and message in response.get_json()["message"]


def test_a_float_argument_given_an_integer_past_the_float_range_is_422(api):
    client, _ = api
    body = json.dumps({"text": "a", "scale": 10**400})
    response = client.post("/v2/models/echo/predict/", data=body, content_type="application/json")
    assert response.status_code == 422 and "scale" in response.get_json()["errors"]


def test_a_truncated_upload_leaves_nothing_behind(api, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    client, _ = api
    body = MULTIPART.replace(b"some content", b"x" * 100_000)[:-10]
    response = client.post(
        "/v2/models/files/predict/",
        data=io.BytesIO(body),
        content_type="multipart/form-data; boundary=b",
    )
    assert response.status_code == 400
    assert list(tmp_path.iterdir()) == []


@pytest.mark.e2e
def test_issue_16_inputs_are_json_4xx_on_a_real_server(run_server, tmp_path):
    server = run_server(
        "--model", "echo", "--model", "files", "--model", "trainer", "--no-warm",
        "--data-dir", str(tmp_path / "data"), env={"TMPDIR": str(tmp_path)},
    )  # fmt: skip
    predict, train = (
        server.url + "/v2/models/echo/predict/",
        server.url + "/v2/models/trainer/train/",
    )
    json_type = {"Content-Type": "application/json"}
    answers = [
        requests.post(
            predict, data='{"text": ' + "[" * 100_000 + "]" * 100_000 + "}", headers=json_type
        ),
        requests.post(train, data='{"seconds": ' + "1" * 5000 + "}", headers=json_type),
        requests.get(train + "?offset=9223372036854775808"),
        requests.post(
            server.url + "/v2/models/files/predict/",
            data=MULTIPART[:-10],
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        ),
    ]
    assert [answer.status_code for answer in answers] == [400, 400, 422, 400]
    assert all(answer.json()["message"] for answer in answers)
    assert requests.get(train).json() == {"jobs": []}  # none was created
    server.stop()
    assert not list(tmp_path.glob("deepserve-server-*"))
