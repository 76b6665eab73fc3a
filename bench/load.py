"""Load generation: wrk for throughput, a paced Python client for latency at a set rate, and a
streamed upload of a large generated file."""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from servers import HOST

CHUNK = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Request:
    """One kind of request: sent over and over by the load generators."""

    path: str
    body: bytes = b""
    content_type: str = ""
    method: str = "POST"

    def headers(self) -> dict[str, str]:
        return {"Content-Type": self.content_type} if self.content_type else {}

    def check(self, port: int) -> dict:
        """Send it once; return the JSON answer (raises unless the answer is a 200)."""
        connection = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            connection.request(self.method, self.path, self.body, self.headers())
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise RuntimeError(f"{self.method} {self.path}: {response.status} {body[:500]!r}")
        return json.loads(body)


def query_predict(path: str) -> Request:
    return Request(path + "?n=21")


def json_predict(path: str) -> Request:
    return Request(path, b'{"n": 21}', "application/json")


def multipart(field: str, filename: str, size: int) -> tuple[bytes, bytes, str]:
    """The parts of a ``multipart/form-data`` body around a file of ``size`` bytes: what comes
    before the file's content, what comes after, and the content type."""
    boundary = "bench-" + os.urandom(8).hex()
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head, tail, f"multipart/form-data; boundary={boundary}"


def upload(path: str, size: int) -> Request:
    """A multipart upload of a ``size``-byte file in the field ``file``."""
    head, tail, content_type = multipart("file", "data.bin", size)
    return Request(path, head + os.urandom(size) + tail, content_type)


@dataclasses.dataclass(frozen=True)
class Throughput:
    """What one wrk run measured."""

    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


_WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def wrk(port: int, request: Request, *, seconds: float, connections: int) -> Throughput:
    """Drive ``request`` as fast as wrk can (one thread, ``connections`` connections)."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as directory:
        lines = [f'wrk.method = "{request.method}"']
        lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in request.headers().items()]
        if request.body:
            body = Path(directory, "body")
            body.write_bytes(request.body)
            lines.append(f'local f = assert(io.open("{body}", "rb")); wrk.body = f:read("*a")')
        script = Path(directory, "script.lua")
        script.write_text("\n".join(lines) + _WRK_DONE)
        command = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
        ]
        command += ["-s", str(script), f"http://{HOST}:{port}{request.path}"]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH "))
    count, duration_us, errors, p50_us, p99_us = (int(value) for value in line.split()[1:])
    return Throughput(count, count / (duration_us / 1e6), p50_us / 1000, p99_us / 1000, errors)


def paced(port: int, request: Request, *, rate: float, seconds: float) -> list[float]:
    """Send ``request`` ``rate`` times a second, one at a time, each on a new connection (as
    a client of a sync gunicorn worker does); return the latencies in milliseconds, counted
    from when each request was due (a late start is latency too). Raises on a non-200."""
    latencies = []
    start = time.perf_counter()
    for number in range(int(rate * seconds)):
        due = start + number / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        connection = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            connection.request(request.method, request.path, request.body, request.headers())
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise RuntimeError(f"{request.path}: {response.status}")
        latencies.append((time.perf_counter() - due) * 1000)
    return latencies


def percentile(values: list[float], q: int) -> float:
    """The ``q``-th percentile (1-99) of ``values``."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def stream_upload(port: int, path: str, size: int) -> tuple[dict, float]:
    """Upload a generated ``size``-byte file, streamed in 1 MiB chunks (never held whole in
    memory); return the JSON answer and the seconds it took."""
    head, tail, content_type = multipart("file", "big.bin", size)
    block = os.urandom(CHUNK)
    connection = http.client.HTTPConnection(HOST, port, timeout=600)
    started = time.perf_counter()
    try:
        connection.putrequest("POST", path)
        connection.putheader("Content-Type", content_type)
        connection.putheader("Content-Length", str(len(head) + size + len(tail)))
        connection.endheaders()
        connection.send(head)
        for offset in range(0, size, CHUNK):
            connection.send(block[: min(CHUNK, size - offset)])
        connection.send(tail)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    seconds = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"upload of {size} bytes: {response.status} {body[:500]!r}")
    return json.loads(body), seconds
