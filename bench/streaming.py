"""What streaming costs: time to the first item, and the time each further item adds.

    python bench/streaming.py [--rounds N] [--items N]

Needs deepserve and the benchmark models (``pip install -e bench/models``) in the environment
that runs it. It serves the ``ticker`` model (``first`` seconds of work, then ``items`` short
strings) with ``deepserve run`` on one thread (``--threads 1``) and four (``--threads 4``),
and prints Markdown tables:

- time to first item: the median time from sending the request to reading the first item, SSE
  and NDJSON on a new connection each, and NDJSON on one kept-alive connection (as the Python
  client, browsers and ``requests.Session`` send them), against the model's own time from
  ``predict()`` to its first item, in process (with no work before the first item, the row shows
  what the request itself costs), and the time to the whole answer of a plain JSON request for
  the same one item. The model's work before its first item is a sleep (waiting for a device;
  the processor idles meanwhile, and wakes up cold) or, in the "computing" rows, a busy loop.
  The same NDJSON stream from a bare Flask route on gunicorn's sync worker
  (``bench/flask_app.py``; it closes each connection) shows what any Python WSGI server costs;
- per item: the median time of a stream of ``--items`` items less that of one item, per item,
  against the model's own time per item and deepserve's framing in process (no HTTP).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sysconfig
import tempfile
import time
from pathlib import Path

import servers
from environments import deepserve_environment
from servers import HOST, Server, free_port

from deepserve.loading import discover
from deepserve.streams import frames

SSE, NDJSON = "text/event-stream", "application/x-ndjson"
# the model's own time to its first item, in seconds, and whether it computes meanwhile
FIRST = ((0.0, False), (0.01, False), (0.01, True), (0.02, False), (0.1, False))
WORKERS = {"1 thread": "1", "4 threads": "4"}


def median_time(action, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def request(
    server: Server, query: str, accept: str, kept: http.client.HTTPConnection | None = None
) -> tuple[float, float]:
    """Seconds to the first line of the body, and to its end; on a new connection, or on
    ``kept``."""
    connection = kept or http.client.HTTPConnection(HOST, server.port, timeout=60)
    started = time.perf_counter()
    connection.request("POST", f"{server.paths['ticker']}?{query}", headers={"Accept": accept})
    response = connection.getresponse()
    response.readline()
    first = time.perf_counter() - started
    response.read()
    total = time.perf_counter() - started
    if kept is None:
        connection.close()
    assert response.status == 200, response.status
    return first, total


def http_median(
    server: Server, query: str, accept: str, rounds: int, index: int, kept: bool = False
) -> float:
    connection = http.client.HTTPConnection(HOST, server.port, timeout=60) if kept else None
    try:
        return statistics.median(
            request(server, query, accept, connection)[index] for _ in range(rounds)
        )
    finally:
        if connection is not None:
            connection.close()


def ratio(seconds: float, own: float) -> str:
    return f"{seconds / own:.2f}" if own >= 0.001 else "–"


def ticker_server(threads: str) -> Server:
    port, directory = free_port(), Path(tempfile.mkdtemp(prefix="bench-streaming-"))
    deepserve = Path(sysconfig.get_path("scripts")) / "deepserve"
    command = [str(deepserve), "run", "--host", HOST, "--port", str(port), "--model", "ticker"]
    command += ["--threads", threads, "--data-dir", str(directory / "data")]
    return Server(
        f"deepserve --threads {threads}",
        command,
        ready_path="/v2/health/ready",
        paths={"ticker": "/v2/models/ticker/predict/"},
        port=port,
        directory=directory,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="requests per measurement")
    parser.add_argument("--items", type=int, default=20000, help="items of the long stream")
    options = parser.parse_args()
    rounds, items = options.rounds, options.items
    record = discover(["ticker"]).models[0]

    def own_first(first: float, busy: bool) -> None:
        next(record.obj.predict(first=first, items=1, busy=busy))

    def framed(media_type: str, count: int):
        return lambda: sum(1 for _ in frames(record, record.stream({"items": count}), media_type))

    print(f"load average at start: {os.getloadavg()[0]:.2f}; {rounds} rounds\n")
    own = {case: median_time(lambda c=case: own_first(*c), rounds) for case in FIRST}
    own_per_item = median_time(lambda: sum(1 for _ in record.obj.predict(items=items)), 3) / items
    framing = {
        media: (median_time(framed(media, items), 3) - median_time(framed(media, 1), 3))
        / (items - 1)
        for media in (SSE, NDJSON)
    }
    ttft_rows, item_rows = [], []
    bare = servers.flask(deepserve_environment(), workers=1)
    tested = [("bare Flask (sync)", bare, (NDJSON,))]
    tested += [(label, ticker_server(threads), (SSE, NDJSON)) for label, threads in WORKERS.items()]
    for label, server, media_types in tested:
        with server:
            server.start()
            request(server, "items=1", NDJSON)  # a first request warms the worker up
            for first, busy in FIRST:
                own_time = own[first, busy]
                work = f"{first * 1000:.0f}" + (", computing" if busy else "")
                row = [label, work, f"{own_time * 1000:.1f}"]
                query = f"first={first}" + ("&busy=true" if busy else "")
                for media, kept in ((SSE, False), (NDJSON, False), (NDJSON, True)):
                    if media not in media_types or (kept and server is bare):
                        row += ["–", "–"]
                        continue
                    seconds = http_median(server, query, media, rounds, 0, kept)
                    row += [f"{seconds * 1000:.1f}", ratio(seconds, own_time)]
                if server is bare:
                    row.append("–")
                else:
                    whole = http_median(server, query, "application/json", rounds, 1)
                    row.append(f"{whole * 1000:.1f}")
                ttft_rows.append(row)
            for media in media_types:
                long = http_median(server, f"items={items}", media, max(3, rounds // 3), 1)
                short = http_median(server, "items=1", media, rounds, 1)
                per_item = (long - short) / (items - 1)
                item_rows.append(
                    [
                        label,
                        media,
                        f"{own_per_item * 1e6:.2f}",
                        f"{framing[media] * 1e6:.2f}" if server is not bare else "–",
                        f"{per_item * 1e6:.2f}",
                    ]
                )
    print(
        "| workers | model's first item after (ms) | model's own time to it (ms) | SSE (ms) "
        "| SSE ratio | NDJSON (ms) | NDJSON ratio | NDJSON, kept-alive connection (ms) "
        "| kept-alive ratio | JSON, whole answer (ms) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in ttft_rows:
        print("| " + " | ".join(row) + " |")
    print(
        f"\n| workers | framing | model per item (µs) | framing in process per item (µs) "
        f"| HTTP per item, {items} items (µs) |"
    )
    print("|---|---|---|---|---|")
    for row in item_rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
