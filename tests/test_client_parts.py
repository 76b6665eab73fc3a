"""The client's parts that need no deepserve server: stream framing, argument checks, retries."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from servers import free_port

from deepserve.client import ClientError
from deepserve.client import transport as transport_module
from deepserve.client.client import closing
from deepserve.client.spec import Operation, check_arguments
from deepserve.client.streams import ndjson_items, sse_items
from deepserve.client.transport import Transport

SSE = (
    b'id: 0\nevent: item\ndata: {"token": "Hello"}\n\n'
    b": a comment line\n"
    b"id: 1\r\nevent: item\r\ndata: [1, 2]\r\n\r\n"
    b'event: done\ndata: {"items": 2}\n\n'
)


def lines(body: bytes) -> list[bytes]:
    return body.splitlines()  # what requests' iter_lines yields


def test_sse_items_and_done():
    assert list(sse_items(lines(SSE))) == [{"token": "Hello"}, [1, 2]]


def test_sse_error_event_raises_with_the_error_body():
    body = SSE.split(b"\n\n")[0] + b'\n\nevent: error\ndata: {"message": "Model \'x\' failed"}\n\n'
    items = sse_items(lines(body))
    assert next(items) == {"token": "Hello"}
    with pytest.raises(ClientError, match="failed midway: Model 'x' failed") as caught:
        next(items)
    assert caught.value.body == {"message": "Model 'x' failed"}


def test_ndjson_items_and_error_line():
    body = b'{"token": "a"}\n"b"\n\n{"error": {"message": "broke", "errors": {"f": ["bad"]}}}\n'
    items = ndjson_items(lines(body))
    assert [next(items), next(items)] == [{"token": "a"}, "b"]
    with pytest.raises(ClientError, match="broke") as caught:
        next(items)
    assert caught.value.errors == {"f": ["bad"]}


PREDICT = Operation(
    "/v2/models/m/predict/",
    (
        {"name": "n", "in": "formData", "type": "number", "minimum": 0, "exclusiveMaximum": True,
         "maximum": 1, "required": True},
        {"name": "k", "in": "formData", "type": "integer", "enum": [1, 2]},
        {"name": "b", "in": "formData", "type": "boolean"},
        {"name": "s", "in": "formData", "type": "string", "maxLength": 3, "pattern": "^[a-z]+$"},
        {"name": "xs", "in": "formData", "type": "array", "minItems": 1,
         "items": {"type": "integer", "maximum": 5}},
        {"name": "f", "in": "formData", "type": "file"},
    ),
)  # fmt: skip


def test_checks_convert_text_and_accept_valid_values(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"1")
    checked = check_arguments(
        PREDICT, {"n": "0.5", "k": "2", "b": "false", "s": "abc", "xs": ["1", 5], "f": str(path)}
    )
    assert checked == {"n": 0.5, "k": 2, "b": False, "s": "abc", "xs": [1, 5], "f": str(path)}


@pytest.mark.parametrize(
    ("values", "name", "message"),
    [
        ({}, "n", "Missing data for required field."),
        ({"n": 1}, "n", "Must be less than 1."),
        ({"n": -1}, "n", "Must be greater than or equal to 0."),
        ({"n": "nan"}, "n", "Not a valid number."),
        ({"n": True}, "n", "Not a valid number."),
        ({"n": 0, "k": 3}, "k", "Must be one of: 1, 2."),
        ({"n": 0, "k": 1.5}, "k", "Not a valid integer."),
        ({"n": 0, "b": "maybe"}, "b", "Not a valid boolean."),
        ({"n": 0, "s": "abcd"}, "s", "At most 3 characters."),
        ({"n": 0, "s": "AB"}, "s", "Does not match the pattern ^[a-z]+$."),
        ({"n": 0, "xs": []}, "xs", "At least 1 items."),
        ({"n": 0, "xs": [6]}, "xs", "Must be less than or equal to 5."),
        ({"n": 0, "f": 12}, "f", "Expected a path or a binary file object."),
        ({"n": 0, "g": 1}, "g", "Unknown argument; expected one of: n, k, b, s, xs, f."),
    ],
)
def test_checks_name_the_argument(values, name, message):
    with pytest.raises(ClientError) as caught:
        check_arguments(PREDICT, values)
    assert caught.value.errors == {name: [message]}
    assert caught.value.status is None


NOT_JSON = {  # path -> what a misconfigured proxy or a broken stream answers
    "/page": ("text/html", b"<html><body>Welcome to nginx!</body></html>"),
    "/stream": ("application/x-ndjson", b'{"token": "a"}\n<html>\n'),
}


class Flaky(BaseHTTPRequestHandler):
    """Answers ``status`` (with ``Retry-After: 2``) to the first ``failures`` requests, then 200;
    counts them."""

    failures = 0
    status = 503
    seen: list[str] = []

    def answer(self) -> None:
        if self.path in NOT_JSON:
            return self.reply(200, *NOT_JSON[self.path])
        Flaky.seen.append(self.command)
        failing = len(Flaky.seen) <= Flaky.failures
        body = b'{"message": "busy"}' if failing else b'{"ok": true}'
        self.reply(Flaky.status if failing else 200, "application/json", body, failing)

    def reply(self, status: int, media_type: str, body: bytes, later: bool = False) -> None:
        self.send_response(status)
        if later:
            self.send_header("Retry-After", "2")
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = answer

    def log_message(self, *args) -> None:
        pass


def serve(port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def flaky():
    Flaky.seen, Flaky.status = [], 503
    server = serve()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def waits(monkeypatch):
    """The seconds the transport waits between attempts (without waiting them)."""
    waited: list[float] = []
    monkeypatch.setattr(transport_module.time, "sleep", waited.append)
    return waited


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_idempotent_calls_are_retried_after_the_server_s_retry_after(flaky, waits, status):
    Flaky.failures, Flaky.status = 2, status
    transport = Transport(f"http://127.0.0.1:{flaky.server_port}", retries=3, backoff=0.01)
    assert transport.json("GET", "/x") == {"ok": True}
    assert Flaky.seen == ["GET", "GET", "GET"]
    assert waits == [2.0, 2.0]  # Retry-After, not the backoff


@pytest.mark.parametrize("method", ["GET", "POST"])  # nothing was sent: a POST may go again
def test_a_server_that_comes_up_meanwhile_is_reached(waits, monkeypatch, method):
    Flaky.seen, Flaky.failures = [], 0
    port, started = free_port(), []
    monkeypatch.setattr(
        transport_module.time, "sleep", lambda s: waits.append(s) or started.append(serve(port))
    )
    transport = Transport(f"http://127.0.0.1:{port}", retries=3, backoff=0.25)
    try:
        assert transport.json(method, "/x") == {"ok": True}
    finally:
        for server in started:
            server.shutdown()
            server.server_close()
    assert waits == [0.25]  # the backoff, after the refused connection
    assert Flaky.seen == [method]  # sent once, when the server was there


def test_posts_are_sent_once(flaky):
    Flaky.failures = 1
    transport = Transport(f"http://127.0.0.1:{flaky.server_port}", retries=3, backoff=0.01)
    with pytest.raises(ClientError) as caught:
        transport.json("POST", "/x")
    assert (caught.value.status, caught.value.message) == (503, "busy")
    assert Flaky.seen == ["POST"]


def test_retries_give_up_on_an_unreachable_server():
    transport = Transport(f"http://127.0.0.1:{free_port()}", retries=2, backoff=0.01)
    with pytest.raises(ClientError, match="Cannot reach") as caught:
        transport.json("GET", "/x")
    assert caught.value.status is None


def test_a_probe_is_asked_once(flaky):
    Flaky.failures = 1
    transport = Transport(f"http://127.0.0.1:{flaky.server_port}", retries=3, backoff=0.01)
    with pytest.raises(ClientError) as caught:
        transport.json("GET", "/v2/health/ready", retry=False)
    assert caught.value.status == 503
    assert Flaky.seen == ["GET"]


def test_an_answer_that_is_not_json_is_a_client_error(flaky):
    transport = Transport(f"http://127.0.0.1:{flaky.server_port}")
    with pytest.raises(ClientError, match="answered text/html, not JSON: '<html>") as caught:
        transport.json("GET", "/page")
    assert caught.value.status == 200
    response = transport.request("GET", "/stream", stream=True)
    items = closing(response, ndjson_items(response.iter_lines()))
    assert next(items) == {"token": "a"}
    with pytest.raises(ClientError, match="not JSON"):
        next(items)
    assert response.raw.closed
