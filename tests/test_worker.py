"""The gunicorn worker: slow clients, gunicorn's own errors as JSON, the request-line limit,
orphaned workers; and the server's temporary directory, after any death."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from unittest.mock import ANY

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from deepserve.api.models import predicted_model
from deepserve.worker import (
    ClientSocket,
    RequestLineTooLong,
    arrived,
    is_open_event_stream,
    json_answer,
)

# What the event loop waits for


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"\r\nGET / HTTP/1.1\r\n\r\n",  # one empty line before the request
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
        b"POST / HTTP/1.1\r\ncontent-length:3\r\n\r\nabcGET ",  # and the next one pipelined
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",  # the thread reads chunks
        b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 1" + b"0" * 30 + b"\r\n\r\n",  # gunicorn refuses
    ],
)
def test_a_request_has_arrived(data):
    assert arrived(data, 100)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GET /very",
        b"GET / HTTP/1.1\r\nHost: a\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\nx",
        b"POST / HTTP/1.1\r\nX-Content-Length: 0\r\nContent-Length: 2\r\n\r\nx",
    ],
)
def test_a_request_is_still_arriving(data):
    assert not arrived(data, 100)


@pytest.mark.parametrize(
    ("data", "model"),
    [
        (b"POST /v2/models/iris/predict/ HTTP/1.1\r\n", "iris"),
        (b"\r\nPOST /v2/models/load_forecast/predict/?x=1 HTTP/1.1\r\n", "load_forecast"),
        (b"POST /v2/models/m-1.2/predict/ HT", "m-1.2"),
        (b"GET /v2/models/iris/predict/ HTTP/1.1\r\n", None),
        (b"POST /v2/models/iris/predict/x HTTP/1.1\r\n", None),
        (b"POST /v2/models/iris/train/ HTTP/1.1\r\n", None),
        (b"POST /v2/models/iris/predict/", None),  # not all there yet
    ],
)
def test_the_loop_knows_which_model_a_prediction_is_for(data, model):
    assert predicted_model(data) == model


header_names = st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,20}\Z").filter(
    lambda name: name.lower() not in ("content-length", "transfer-encoding", "expect")
)
header_values = st.from_regex(r"\A[ -~]{0,40}\Z").map(str.strip)


@given(
    path=st.from_regex(r"\A/[!-~]{0,200}\Z"),
    headers=st.lists(st.tuples(header_names, header_values), max_size=10),
    body=st.binary(max_size=2000),
    empty_line=st.booleans(),
    pipelined=st.binary(max_size=50),
)
def test_a_whole_request_has_always_arrived_and_never_before_its_head(
    path, headers, body, empty_line, pipelined
):
    head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers)
    head += f"Content-Length: {len(body)}\r\n\r\n"
    request = (b"\r\n" if empty_line else b"") + head.encode() + body
    assert arrived(request + pipelined, 1000)  # a late 408 for a whole request: never
    assert not arrived(request[: len(request) - len(body) - 1], 1000)
    if body:
        assert not arrived(request[:-1], 1000)


@pytest.mark.parametrize("data", [b"GET /" + b"a" * 100, b"GET /" + b"a" * 100 + b" HTTP/1.1\r\n"])
def test_a_request_line_over_the_limit_is_refused_before_its_end(data):
    with pytest.raises(RequestLineTooLong) as refused:
        arrived(data, 100)
    assert refused.value.code == 414


@pytest.mark.parametrize(
    ("status", "headers", "open_stream"),
    [
        ("200 OK", [("Content-Type", "text/event-stream; charset=utf-8")], True),
        ("200 OK", [("content-type", "text/event-stream")], True),
        ("200 OK", [("Content-Type", "application/x-ndjson")], False),
        ("200 OK", [("Content-Type", "text/event-stream"), ("Content-Length", "9")], False),
        ("204 No Content", [("Content-Type", "text/event-stream")], False),
    ],
)
def test_only_event_streams_of_open_length_get_keep_alive_comments(status, headers, open_stream):
    assert is_open_event_stream(status, headers) is open_stream


def test_the_worker_answers_json_in_the_envelope():
    head, body = json_answer(408, "late").split(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 408 Request Timeout"
    assert "Content-Type: application/json" in lines and "Connection: close" in lines
    assert "X-Content-Type-Options: nosniff" in lines
    assert f"Content-Length: {len(body)}" in lines
    assert json.loads(body) == {"message": "late"}


# How an answer leaves


@pytest.fixture
def client_socket():
    """A :class:`ClientSocket` and the socket its peer reads from."""
    ours, peer = socket.socketpair()
    sock = ClientSocket(ours.family, ours.type, ours.proto, fileno=ours.detach())
    peer.setblocking(False)
    yield sock, peer
    sock.close()
    peer.close()


def test_an_answers_head_leaves_with_its_body(client_socket):
    sock, peer = client_socket
    sock.hold_next()
    sock.sendall(b"HEAD\r\n\r\n")
    with pytest.raises(BlockingIOError):
        peer.recv(100)
    sock.sendall(b"body")
    assert peer.recv(100) == b"HEAD\r\n\r\nbody"
    sock.sendall(b"more")  # then each write goes at once
    assert peer.recv(100) == b"more"


def test_an_answer_without_a_body_leaves_when_the_request_ends(client_socket):
    sock, peer = client_socket
    sock.hold_next()
    sock.sendall(b"HEAD\r\n\r\n")
    sock.send_held()
    assert peer.recv(100) == b"HEAD\r\n\r\n"
    sock.send_held()  # nothing more
    with pytest.raises(BlockingIOError):
        peer.recv(100)


def test_a_file_answer_follows_its_head(client_socket, tmp_path):
    sock, peer = client_socket
    (tmp_path / "f").write_bytes(b"file")
    sock.hold_next()
    sock.sendall(b"HEAD\r\n\r\n")
    with open(tmp_path / "f", "rb") as file:
        sock.sendfile(file)
    time.sleep(0.05)
    assert peer.recv(100) == b"HEAD\r\n\r\nfile"


# Through a real server


def raw_request(url: str, data: bytes, timeout: float = 10) -> tuple[int, dict, dict]:
    """Send ``data`` as it is; the status, headers and JSON body of the answer."""
    with socket.create_connection(_address(url), timeout=timeout) as sock:
        sock.sendall(data)
        return read_answer(sock)


def read_answer(sock: socket.socket) -> tuple[int, dict, dict]:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, json.loads(body)


def stalled(url: str, head: bytes, body: bytes = b"x") -> socket.socket:
    """A connection that sent ``head`` and the start of its body, then stalls."""
    sock = socket.create_connection(_address(url), timeout=30)
    sock.sendall(head + body)
    return sock


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


PREDICT = b"POST /v2/models/echo/predict/ HTTP/1.1\r\nHost: t\r\n"
# An upload larger than what the event loop buffers: a thread reads it.
UPLOAD_HEAD = (
    b"POST /v2/models/files/predict/ HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n"
    b"Content-Type: multipart/form-data; boundary=b\r\n\r\n"
)
UPLOAD_START = (
    b'--b\r\nContent-Disposition: form-data; name="data"; filename="a"\r\n\r\n' + b"y" * 200_000
)


@pytest.mark.e2e
def test_stalled_bodies_neither_freeze_the_server_nor_hold_a_thread(run_server):
    server = run_server(
        "--model", "echo", "--model", "files", "--workers", "1", "--threads", "2",
        "--body-timeout", "3", "--no-access-log",
    )  # fmt: skip
    small = PREDICT + b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    clients = [stalled(server.url, small, b"{") for _ in range(4)]  # twice workers x threads
    clients.append(stalled(server.url, UPLOAD_HEAD, UPLOAD_START))  # read by a thread
    started = time.monotonic()
    for _ in range(3):
        assert requests.get(server.url + "/v2/health/live", timeout=1).ok
        answer = requests.post(server.url + "/v2/models/echo/predict/?text=a", timeout=1)
        assert answer.json()["text"] == "a"
    for sock in clients:
        with sock:
            status, headers, body = read_answer(sock)
        assert status == 408 and headers["Content-Type"] == "application/json"
        assert body == {"message": "The request did not arrive within 3 s."}
    assert time.monotonic() - started < 10  # each freed, not left to its client
    assert requests.get(server.url + "/v2/health/live", timeout=1).ok


@pytest.mark.e2e
def test_clients_that_keep_a_closed_connection_open_do_not_freeze_the_server(run_server):
    server = run_server("--model", "echo", "--workers", "1", "--threads", "2", "--no-warm")
    with contextlib.ExitStack() as stack:
        lingering = []
        for request in (
            b"GET /v2/health/live HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
            b"GET /v2/health/live HTTP/1.0\r\n\r\n",
        ):
            sock = stack.enter_context(socket.create_connection(_address(server.url), timeout=5))
            sock.sendall(request)  # then neither reads on nor closes its side
            lingering.append(sock)
        started = time.monotonic()
        for _ in range(3):
            answer = requests.post(server.url + "/v2/models/echo/predict/?text=a", timeout=1)
            assert answer.json()["text"] == "a"
        assert time.monotonic() - started < 1.5  # gunicorn's loop waited 2 s for each
        for sock in lingering:  # read to its end: the server closed it
            assert read_answer(sock) == (200, ANY, {"live": True})


@pytest.mark.e2e
def test_a_client_that_reads_nothing_of_its_answer_is_disconnected(run_server, wait):
    server = run_server(
        "--model", "echo", "--no-deepaas", "--workers", "1", "--threads", "1",
        "--body-timeout", "1",
    )  # fmt: skip
    body = b"count=10&text=" + b"x" * 4_000_000  # a 40 MB answer: more than sockets buffer
    head = PREDICT + b"Content-Type: application/x-www-form-urlencoded\r\n"
    with socket.create_connection(_address(server.url)) as sock:
        sock.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        wait(lambda: "read nothing of its answer for 1 s" in server.output(), timeout=30)
        answer = requests.post(server.url + "/v2/models/echo/predict/?text=a", timeout=5)
        assert answer.json()["text"] == "a"  # its only thread is free again
    assert "Socket error" not in server.output() and "[ERROR]" not in server.output()


@pytest.mark.e2e
def test_gunicorn_refusals_are_json(run_server):
    server = run_server("--model", "echo", "--no-warm", "--max-request-line", "20K")
    cases = {
        b"NOT HTTP\r\n\r\n": 400,
        b"GET /v2/ HTTP/1.1\r\n" + b"X-A: b\r\n" * 101 + b"\r\n": 431,
        b"GET /v2/ HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n": 431,
        b"GET /v2/?" + b"a" * 21000 + b" HTTP/1.1\r\n\r\n": 414,
        PREDICT
        + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n": 400,
        # answered without reading the body; the bad chunk then only closes the connection
        b"POST /v2/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n": 405,
        b"POST /v2/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab": 400,
    }
    for request, expected in cases.items():
        status, headers, body = raw_request(server.url, request)
        assert (status, headers["Content-Type"]) == (expected, "application/json"), request
        assert body["message"] and "<" not in body["message"]
    # over gunicorn's own limit of 8190 bytes, under ours
    answer = requests.post(server.url + "/v2/models/echo/predict/?text=" + "a" * 15000)
    assert answer.status_code == 200 and len(answer.json()["text"]) == 15000


@pytest.mark.e2e
def test_a_body_sent_after_100_continue_is_read(run_server):
    server = run_server("--model", "echo", "--no-warm")
    body = b'{"text": "' + b"a" * 5000 + b'"}'
    head = PREDICT + b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
    with socket.create_connection(_address(server.url), timeout=10) as sock:
        sock.sendall(head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"  # only then the body
        sock.sendall(body)
        status, _, answer = read_answer(sock)
    assert status == 200 and len(answer["text"]) == 5000


@pytest.mark.e2e
def test_orphaned_workers_stop_at_once(run_server, wait, gone):
    server = run_server("--model", "slow", "--workers", "2", "--no-warm")
    pids = {worker_pid(server) for _ in range(20)}
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    with pytest.raises((requests.ConnectionError, requests.Timeout)):  # taken by no worker
        requests.get(server.url + "/v2/health/live", timeout=1)
    for pid in pids:  # idle, each exits at once; time to spare on a loaded machine
        wait(lambda pid=pid: gone(pid), timeout=5)


def worker_pid(server) -> int:
    answer = requests.post(server.url + "/v2/models/slow/predict/?seconds=0", timeout=5)
    return answer.json()["predictions"]["pid"]


@pytest.mark.e2e
def test_no_temporary_file_outlives_a_killed_worker_or_master(run_server, tmp_path, wait, gone):
    env = {"TMPDIR": str(tmp_path)}
    server = run_server("--model", "slow", "--model", "files", "--no-warm", env=env)
    (directory,) = tmp_path.glob("deepserve-server-*")
    assert list(directory.glob("deepserve-metrics-*"))  # the metrics files live there too
    pid = worker_pid(server)
    sock = stalled(server.url, UPLOAD_HEAD, UPLOAD_START)  # its file is on disk already
    wait(lambda: list(directory.glob(f"worker-{pid}/deepserve-upload-*/part-*")))
    os.kill(pid, signal.SIGKILL)
    wait(lambda: not (directory / f"worker-{pid}").exists())  # removed by the master
    sock.close()
    pid = worker_pid(server)  # its replacement
    server.process.send_signal(signal.SIGKILL)
    wait(lambda: gone(pid))
    assert directory.exists()  # left behind: no process could remove it
    other = run_server("--model", "slow", "--no-warm", env=env)  # sweeps it at start
    assert not directory.exists()
    assert len(list(tmp_path.glob("deepserve-server-*"))) == 1
    other.stop()
    assert not list(tmp_path.glob("deepserve-server-*"))


@pytest.mark.e2e
def test_a_request_not_answered_within_the_timeout_is_a_504_and_its_worker_restarts(run_server):
    server = run_server("--model", "slow", "--timeout", "2", "--threads", "2", "--no-warm")
    stuck = worker_pid(server)
    answer = requests.post(server.url + "/v2/models/slow/predict/?seconds=20", timeout=15)
    assert answer.status_code == 504
    assert answer.json() == {"message": "The server did not answer within 2 s."}
    assert worker_pid(server) != stuck  # a new worker answers at once
    assert "has waited for its answer over 2 s (--timeout): the worker restarts" in server.output()


def read_one_answer(answers) -> tuple[int, dict]:
    """The status and JSON body of the next answer on a kept-alive connection, read from
    ``answers`` (its ``makefile("rb")``, which keeps what follows for the next call)."""
    status = int(answers.readline().split()[1])
    length = 0
    while (line := answers.readline()) != b"\r\n":
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    return status, json.loads(answers.read(length))


def sleep_request(seconds: float, query: bytes = b"") -> bytes:
    return b"POST /v2/models/slow/predict/?seconds=%g%s HTTP/1.1\r\nHost: t\r\n\r\n" % (
        seconds,
        query,
    )


@pytest.mark.e2e
def test_a_kept_alive_client_s_next_request_is_answered_by_the_same_thread(run_server):
    server = run_server(
        "--model", "slow", "--workers", "1", "--threads", "4", "--timeout", "2",
        "--max-request-line", "2K", "--no-warm",
    )  # fmt: skip
    with ThreadPoolExecutor(4) as pool:  # every thread started: any could take a request
        list(pool.map(lambda _: worker_pid(server), range(8)))
    threads = set()
    with (
        socket.create_connection(_address(server.url), timeout=10) as sock,
        sock.makefile("rb") as answers,
    ):
        sock.sendall(sleep_request(1.2))
        for _ in range(2):  # each next request is there when the answer before it leaves
            time.sleep(0.3)
            sock.sendall(sleep_request(1.2))
            status, answer = read_one_answer(answers)
            assert status == 200
            threads.add(answer["predictions"]["thread"])
        status, answer = read_one_answer(answers)  # 3.6 s on one thread: --timeout is per request
        assert status == 200 and threads == {answer["predictions"]["thread"]}
        sock.sendall(sleep_request(0.5))
        time.sleep(0.2)
        sock.sendall(sleep_request(0, b"&x=%s" % (b"a" * 3000)))  # refused by the loop
        assert read_one_answer(answers)[0] == 200
        assert read_one_answer(answers) == (414, {"message": ANY})
        assert answers.read() == b""  # and closed
    with (
        socket.create_connection(_address(server.url), timeout=10) as sock,
        sock.makefile("rb") as answers,
    ):
        sock.sendall(sleep_request(0.3))
        time.sleep(0.1)
        sock.sendall(b"POST /v2/models/slow/predict/?seconds=0 HTTP/1.1\r\n")
        assert read_one_answer(answers)[0] == 200
        time.sleep(0.2)  # the rest of a next request comes late: the loop waits for it
        sock.sendall(b"Host: t\r\n\r\n")
        assert read_one_answer(answers)[0] == 200
    assert "[ERROR]" not in server.output()


@pytest.mark.e2e
def test_clients_beyond_the_threads_are_not_starved_by_kept_alive_ones(run_server):
    server = run_server(
        "--model", "slow", "--workers", "1", "--threads", "2", "--no-warm", "--no-access-log"
    )  # fmt: skip
    answered = [0] * 4
    deadline = time.monotonic() + 3

    def client(index: int) -> None:
        with requests.Session() as session:  # one kept-alive connection, one request at a time
            while time.monotonic() < deadline:
                answer = session.post(server.url + "/v2/models/slow/predict/?seconds=0.05")
                assert answer.status_code == 200
                answered[index] += 1

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(client, range(4)))
    assert min(answered) >= 3, answered  # two threads answer about 40 each second
