"""Streaming models (``predict_streams``): SSE, NDJSON and collected JSON through the real app."""

from __future__ import annotations

import io
import json
import logging
import os

import pytest
from marshmallow import Schema, fields
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.datastructures import MIMEAccept

from deepserve.api import create_app
from deepserve.arguments import DeclarationError
from deepserve.loading import discover
from deepserve.logs import RequestIdFilter
from deepserve.outputs import prediction_document
from deepserve.record import ModelRecord

PREDICT = "/v2/models/stream/predict/"
SSE = {"Accept": "text/event-stream"}
NDJSON_TYPE = "application/x-ndjson"
NDJSON = {"Accept": NDJSON_TYPE}


def sse_events(text: str) -> list[dict]:
    """The events of an SSE body, each as ``{field: value}``."""
    events = []
    for block in text.split("\n\n"):
        if block:
            events.append(dict(line.split(": ", 1) for line in block.split("\n")))
    return events


def test_server_sent_events_one_per_item_then_done(client):
    response = client.post(PREDICT + "?count=2", headers=SSE)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.get_data(as_text=True) == (
        'id: 0\nevent: item\ndata: {"index": 0, "text": "item 0"}\n\n'
        'id: 1\nevent: item\ndata: {"index": 1, "text": "item 1"}\n\n'
        'event: done\ndata: {"items": 2}\n\n'
    )


def test_ndjson_one_line_per_item(client):
    response = client.post(PREDICT, json={"count": 3}, headers=NDJSON)
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    assert response.headers["X-Accel-Buffering"] == "no"
    lines = response.get_data(as_text=True).splitlines()
    assert [json.loads(line) for line in lines] == [
        {"index": i, "text": f"item {i}"} for i in range(3)
    ]


@pytest.mark.parametrize("accept", [None, "application/json", "*/*", "text/html,*/*;q=0.8"])
def test_json_clients_get_the_items_collected(client, accept):
    headers = {"Accept": accept} if accept else {}
    response = client.post(PREDICT + "?count=2", headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == {
        "status": "OK",
        "predictions": [{"index": 0, "text": "item 0"}, {"index": 1, "text": "item 1"}],
    }


def test_an_empty_stream_is_done_at_once(client):
    assert sse_events(client.post(PREDICT + "?count=0", headers=SSE).get_data(as_text=True)) == [
        {"event": "done", "data": '{"items": 0}'}
    ]
    assert client.post(PREDICT + "?count=0", headers=NDJSON).get_data() == b""


def test_a_failure_midway_is_an_error_event(client):
    text = client.post(PREDICT + "?count=5&fail_at=2", headers=SSE).get_data(as_text=True)
    events = sse_events(text)
    assert [event["event"] for event in events] == ["item", "item", "error"]
    assert json.loads(events[-1]["data"]) == {
        "message": "Model 'stream' failed in predict: RuntimeError: the model broke at item 2"
    }


def test_a_failure_midway_ends_ndjson_with_an_error_line(client):
    lines = client.post(PREDICT + "?count=5&fail_at=1", headers=NDJSON).get_data().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"index": 0, "text": "item 0"},
        {
            "error": {
                "message": "Model 'stream' failed in predict: RuntimeError: "
                "the model broke at item 1"
            }
        },
    ]


def test_log_records_of_a_stream_carry_its_request_id(client, caplog):
    caplog.handler.addFilter(RequestIdFilter())
    headers = {**NDJSON, "X-Request-ID": "stream-7"}
    client.post(PREDICT + "?count=5&fail_at=1", headers=headers).get_data()
    [record] = [r for r in caplog.records if "stream ended after 1 items" in r.getMessage()]
    assert record.request_id == "stream-7"  # logged after the view returned
    logging.getLogger("deepserve").error("after the request")
    assert caplog.records[-1].request_id == "-"


def test_an_item_that_is_not_json_ends_the_stream(client, tmp_path):
    marker = tmp_path / "closed"
    query = f"?count=5&bad_at=1&marker={marker}"
    events = sse_events(client.post(PREDICT + query, headers=SSE).get_data(as_text=True))
    assert [event["event"] for event in events] == ["item", "error"]
    assert "returned output that is not JSON" in json.loads(events[-1]["data"])["message"]
    assert marker.read_text() == "closed"  # the model's generator was closed, not left hanging


class Item(Schema):
    index = fields.Int(required=True)


class Counter:
    """A streaming model with a schema for its items; ``bad`` yields one breaking it."""

    predict_streams = True
    schema = Item

    def get_metadata(self):
        return {}

    def get_predict_args(self):
        return {"bad": fields.Bool(load_default=False)}

    def predict(self, bad):
        yield {"index": 0}
        yield {"index": "one" if bad else 1}


@pytest.fixture(scope="module")
def counter():
    return create_app([ModelRecord("counter", Counter())]).test_client()


def test_a_schema_describes_and_validates_each_item(counter):
    url = "/v2/models/counter/predict/"
    assert counter.post(url, headers=NDJSON).get_data() == b'{"index": 0}\n{"index": 1}\n'
    assert counter.post(url).get_json() == {
        "status": "OK",
        "predictions": [{"index": 0}, {"index": 1}],
    }
    events = sse_events(counter.post(url + "?bad=true", headers=SSE).get_data(as_text=True))
    assert [event["event"] for event in events] == ["item", "error"]
    assert json.loads(events[-1]["data"])["errors"] == {"index": ["Not a valid integer."]}
    assert counter.post(url + "?bad=true").status_code == 500


def test_the_spec_describes_the_collected_items(counter):
    spec = counter.get("/swagger.json").get_json()
    predictions = spec["definitions"]["counter.prediction"]["properties"]["predictions"]
    assert predictions["type"] == "array"
    assert set(predictions["items"]["properties"]) == {"index"}


@pytest.mark.parametrize("headers", [SSE, NDJSON, {}])
def test_a_failure_before_the_first_item_is_an_ordinary_error(client, headers):
    response = client.post(PREDICT + "?fail_at=0", headers=headers)
    assert response.status_code == 500 and response.mimetype == "application/json"
    assert "RuntimeError: the model broke at item 0" in response.get_json()["message"]


def test_a_collected_stream_that_fails_is_a_500(client):
    response = client.post(PREDICT + "?count=3&fail_at=2")
    assert response.status_code == 500
    assert "the model broke at item 2" in response.get_json()["message"]


def test_closing_the_response_closes_the_models_generator(client, tmp_path):
    marker = tmp_path / "closed"
    response = client.post(PREDICT + f"?count=1000&marker={marker}", headers=NDJSON, buffered=False)
    chunks = iter(response.response)
    assert json.loads(next(chunks)) == {"index": 0, "text": "item 0"}
    assert not marker.exists()
    response.close()  # what the server does when the client has gone
    assert marker.read_text() == "closed"


def test_uploads_stay_until_the_stream_ends(client, session_temp_dir):
    def uploads():
        return {p for p in os.listdir(session_temp_dir) if p.startswith("deepserve-upload-")}

    before = uploads()
    data = {"count": "3", "words": (io.BytesIO(b"to be or not"), "words.txt")}
    response = client.post(PREDICT, data=data, headers=NDJSON, buffered=False)
    chunks = iter(response.response)
    next(chunks)
    assert uploads() - before  # the view has returned, the model still reads the file lazily
    assert [json.loads(chunk)["text"] for chunk in chunks] == ["be", "or"]
    response.close()
    assert uploads() == before


def test_unacceptable_types_list_the_stream_framings(client):
    response = client.post(PREDICT, headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert response.get_json()["available"] == [
        "application/json",
        "text/event-stream",
        "application/x-ndjson",
    ]


def test_the_spec_marks_the_streaming_operation(client):
    paths = client.get("/swagger.json").get_json()["paths"]
    operation = paths["/v2/models/stream/predict/"]["post"]
    assert operation["produces"] == [
        "application/json",
        "text/event-stream",
        "application/x-ndjson",
    ]
    assert operation["x-deepserve-stream"] is True
    assert "x-deepserve-stream" not in paths["/v2/models/echo/predict/"]["post"]


def scrape(client) -> dict:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(client.get("/metrics").get_data(True))
        for sample in family.samples
    }


def test_metrics_count_items_and_time_the_first_one(app):
    client = app.test_client()
    client.post(PREDICT + "?count=4", headers=NDJSON).get_data()
    client.post(PREDICT + "?count=5&fail_at=2", headers=SSE).get_data()
    scraped = scrape(client)
    model = frozenset({("model", "stream")})
    assert scraped[("deepserve_stream_items_count", model)] >= 2
    assert scraped[("deepserve_stream_items_sum", model)] >= 6  # 4 items, then 2 and a failure
    assert scraped[("deepserve_stream_first_item_seconds_count", model)] >= 2


def test_a_stream_is_in_flight_until_it_ends():
    client = create_app(discover(["stream"]).models).test_client()
    in_flight = ("deepserve_requests_in_flight", frozenset())
    response = client.post(PREDICT + "?count=3", headers=NDJSON, buffered=False)
    chunks = iter(response.response)
    next(chunks)
    assert scrape(client)[in_flight] == 2  # the stream and the scrape
    list(chunks)
    response.close()
    assert scrape(client)[in_flight] == 1


class Streaming:
    def get_metadata(self):
        return {}

    def get_predict_args(self):
        return {}

    def predict(self):
        return {"not": "an iterator"}


def test_a_streaming_model_must_return_an_iterator():
    model = type("Streams", (Streaming,), {"predict_streams": True})()
    app = create_app([ModelRecord("dict", model)])
    response = app.test_client().post("/v2/models/dict/predict/", headers=NDJSON)
    assert response.status_code == 500
    assert "returned dict, not an iterator" in response.get_json()["message"]


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ({"predict_streams": "yes"}, "predict_streams must be True or False"),
        (
            {"predict_streams": True, "predict_media_types": ("application/json", "image/png")},
            "cannot also declare predict_media_types",
        ),
    ],
)
def test_bad_stream_declarations_are_rejected(members, reason):
    with pytest.raises(DeclarationError, match=reason):
        ModelRecord("bad", type("Bad", (Streaming,), members)())


def test_a_streaming_model_never_gets_an_accept_argument():
    model = type("S", (Streaming,), {"predict_streams": True, "predict": lambda self: iter("ab")})
    record = ModelRecord("s", model())
    assert record.negotiate(MIMEAccept([("application/x-ndjson", 1)])) == "application/x-ndjson"
    assert list(record.stream({})) == ["a", "b"]  # predict() takes no ``accept``


def test_the_command_line_prints_items_as_lines_or_collected(cli):
    lines = cli("predict", "stream", "--count", "2", "--media-type", "application/x-ndjson")
    assert lines.returncode == 0, lines.stderr
    assert [json.loads(line) for line in lines.stdout.splitlines()] == [
        {"index": 0, "text": "item 0"},
        {"index": 1, "text": "item 1"},
    ]
    collected = cli("predict", "stream", "--count", "2")
    assert json.loads(collected.stdout)["predictions"][1] == {"index": 1, "text": "item 1"}


def test_the_command_line_exits_1_when_the_stream_fails_midway(cli):
    failed = cli("predict", "stream", "--count", "3", "--fail-at", "1", "--media-type", NDJSON_TYPE)
    assert failed.returncode == 1
    assert failed.stdout.splitlines() == ['{"index": 0, "text": "item 0"}']
    assert "the model broke at item 1" in json.loads(failed.stderr.splitlines()[-1])["message"]


def test_the_generic_prediction_path_collects_a_stream(discovery):
    """What renders any prediction (asynchronous jobs, the command line) collects the items."""
    record = next(record for record in discovery.models if record.name == "stream")
    args = record.predict_args.load({"count": 2, "kind": "text"})
    document = prediction_document(record, record.predict(args))
    assert json.loads(document) == {"status": "OK", "predictions": ["item 0 ", "item 1 "]}
