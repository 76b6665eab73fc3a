"""Streaming through a real ``deepserve run``: gunicorn's sync and threaded workers, SSE and
NDJSON as they are produced, failures midway, clients that leave, the access log, metrics."""

from __future__ import annotations

import contextlib
import io
import json
import re
import socket
from pathlib import Path

import pytest
import requests
import sseclient

from deepserve.client import Client

pytestmark = pytest.mark.e2e

PREDICT = "/v2/models/stream/predict/"
SSE = {"Accept": "text/event-stream"}
API_DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


@pytest.fixture(params=["1", "4"], ids=["sync-worker", "threaded-worker"])
def server(request, run_server):
    return run_server("--model", "stream", "--threads", request.param)


def test_sse_items_arrive_one_by_one(server, tmp_path):
    marker, gate = tmp_path / "closed", tmp_path / "gate"
    # the model waits for the gate before its second item: the first must arrive alone
    url = server.url + PREDICT + f"?count=3&marker={marker}&gate={gate}"
    with requests.post(url, headers={"Accept": "text/event-stream"}, stream=True) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["X-Accel-Buffering"] == "no"
        lines = response.iter_lines(decode_unicode=True)
        assert [next(lines) for _ in range(4)] == [
            "id: 0",
            "event: item",
            'data: {"index": 0, "text": "item 0"}',
            "",
        ]
        assert not marker.exists()
        gate.touch()
        rest = list(lines)
    assert rest[-3:-1] == ["event: done", 'data: {"items": 3}']
    assert marker.read_text() == "closed"


def test_ndjson_lines_and_an_error_midway(server):
    url = server.url + PREDICT + "?count=4&fail_at=2"
    response = requests.post(url, headers={"Accept": "application/x-ndjson"}, timeout=30)
    assert response.status_code == 200
    assert [json.loads(line) for line in response.text.splitlines()] == [
        {"index": 0, "text": "item 0"},
        {"index": 1, "text": "item 1"},
        {
            "error": {
                "message": "Model 'stream' failed in predict: RuntimeError: "
                "the model broke at item 2"
            }
        },
    ]
    assert "the model broke at item 2" in server.output()  # the traceback is in the server log


def test_sse_error_event_midway(server):
    url = server.url + PREDICT + "?count=4&fail_at=1"
    text = requests.post(url, headers={"Accept": "text/event-stream"}, timeout=30).text
    assert text.endswith(
        'event: error\ndata: {"message": "Model \'stream\' failed in predict: RuntimeError: '
        'the model broke at item 1"}\n\n'
    )


def test_a_client_leaving_closes_the_generator(server, tmp_path, wait):
    marker = tmp_path / "closed"
    request = (
        f"POST {PREDICT}?count=10000&delay=0.05&marker={marker} HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAccept: application/x-ndjson\r\nContent-Length: 0\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(request.encode())
        received = b""
        while b'"item 0"' not in received:  # the headers may come in a packet of their own
            chunk = sock.recv(4096)
            assert chunk, received
            received += chunk
    wait(lambda: marker.exists(), timeout=30)
    assert marker.read_text() == "closed"
    # the worker is free again, and the stream's line is in the access log
    assert requests.post(server.url + PREDICT + "?count=1", timeout=30).ok
    wait(lambda: f'"POST {PREDICT}?count=10000' in server.output())


def test_collected_json_access_log_and_metrics(server, wait):
    response = requests.post(server.url + PREDICT, json={"count": 2}, timeout=30)
    assert response.json()["predictions"] == [
        {"index": 0, "text": "item 0"},
        {"index": 1, "text": "item 1"},
    ]
    url = server.url + PREDICT + "?count=3"
    requests.post(url, headers={"Accept": "application/x-ndjson"}, timeout=30).raise_for_status()
    wait(lambda: f'"POST {PREDICT}?count=3 HTTP/1.1" 200' in server.output())
    scrape = requests.get(server.url + "/metrics", timeout=30).text
    assert 'deepserve_stream_items_count{model="stream"} 1.0' in scrape
    assert 'deepserve_stream_items_sum{model="stream"} 3.0' in scrape
    assert 'deepserve_stream_first_item_seconds_count{model="stream"} 1.0' in scrape


def test_items_pass_through_nginx_as_they_come(run_server, nginx, tmp_path):
    """Through the example nginx config, each item reaches the client as the model yields it."""
    server = run_server("--model", "stream", "--threads", "4")
    url = nginx(server.port, server.port) + PREDICT + f"?count=2&gate={tmp_path / 'gate'}"
    with requests.post(url, headers={"Accept": "application/x-ndjson"}, stream=True) as response:
        lines = response.iter_lines(decode_unicode=True)
        assert json.loads(next(lines)) == {"index": 0, "text": "item 0"}  # the model waits
        (tmp_path / "gate").touch()
        assert [json.loads(line) for line in lines] == [{"index": 1, "text": "item 1"}]


def test_a_silent_event_stream_gets_keep_alive_comments(run_server):
    server = run_server("--model", "stream", "--threads", "1", "--stream-keepalive", "0.4")
    silent = server.url + PREDICT + "?count=2&delay=1.5"  # time for two comments, and slack
    with requests.post(silent, headers=SSE, stream=True, timeout=10) as response:
        text = response.text  # chunks decoded: their framing holds
    assert text.count(": keep-alive\n\n") >= 2
    assert [(e.event, e.data) for e in sseclient.SSEClient(io.BytesIO(text.encode())).events()] == [
        ("item", '{"index": 0, "text": "item 0"}'),
        ("item", '{"index": 1, "text": "item 1"}'),
        ("done", '{"items": 2}'),
    ]
    with Client(server.url) as client:
        items = client.predict("stream", count=2, delay=1.5, stream=True)
        assert [item["index"] for item in items] == [0, 1]
    ndjson = requests.post(silent, headers={"Accept": "application/x-ndjson"}, timeout=10).text
    assert ndjson.splitlines() == [
        '{"index": 0, "text": "item 0"}',
        '{"index": 1, "text": "item 1"}',
    ]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:  # not chunked
        head = f"POST {PREDICT}?count=2&delay=1.5 HTTP/1.0\r\nAccept: text/event-stream\r\n\r\n"
        sock.sendall(head.encode())
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
    body = received.partition(b"\r\n\r\n")[2]
    assert b"\n\n: keep-alive\n\n" in body and body.endswith(b'event: done\ndata: {"items": 2}\n\n')
    busy = server.url + PREDICT + "?count=20&delay=0.05"  # never silent for 0.4 s
    assert ": keep-alive" not in requests.post(busy, headers=SSE, timeout=10).text


@pytest.mark.parametrize(("keepalive", "complete"), [("0.4", True), ("0", False)])
def test_keep_alive_comments_hold_a_slow_stream_through_a_proxy(
    run_server, nginx, keepalive, complete
):
    """nginx closes a connection silent for its proxy_read_timeout (2 s here), whatever the
    model is doing; the comments keep it busy."""
    server = run_server("--model", "stream", "--stream-keepalive", keepalive)
    url = nginx(server.port, server.port, read_timeout="2s") + PREDICT + "?count=2&delay=3"
    received = b""
    with (
        requests.post(url, headers=SSE, stream=True, timeout=10) as response,
        contextlib.suppress(requests.exceptions.ChunkedEncodingError),  # cut off by nginx
    ):
        for chunk in response.iter_content(None):
            received += chunk
    assert received.startswith(b'id: 0\nevent: item\ndata: {"index": 0, "text": "item 0"}\n\n')
    assert received.endswith(b'event: done\ndata: {"items": 2}\n\n') is complete


def test_sseclient_py_reads_the_events(server):
    url = server.url + PREDICT + "?count=2"
    with requests.post(url, headers={"Accept": "text/event-stream"}, stream=True) as response:
        events = [
            (e.event, e.id, json.loads(e.data)) for e in sseclient.SSEClient(response).events()
        ]
    assert events == [
        ("item", "0", {"index": 0, "text": "item 0"}),
        ("item", "1", {"index": 1, "text": "item 1"}),
        ("done", None, {"items": 2}),
    ]


def test_the_documented_httpx_client_prints_the_generated_text(run_server):
    server = run_server("--model", "shakespeare")
    blocks = re.findall(r"```python\n(.*?)```", API_DOC.read_text(), flags=re.DOTALL)
    client = next(block for block in blocks if "httpx.stream" in block)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(client.replace("http://127.0.0.1:5000", server.url), {})
    collected = requests.post(
        server.url + "/v2/models/shakespeare/predict/",
        data={"prompt": "To be, or not to be", "length": 40, "seed": 7},
        timeout=30,
    ).json()["predictions"]
    assert printed.getvalue() == "".join(collected)
