"""The benchmark's scenarios; each starts its servers, measures, stops them, returns numbers."""

from __future__ import annotations

import dataclasses
import functools
import http.client
import json
import re
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import load
import servers
from environments import Environment
from servers import HOST, Server

MANY = [f"many-{number:02d}" for number in range(50)]
MIB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Plan:
    """How long and how often to measure, and with which environments."""

    deepserve: Environment
    #: None when no chosen scenario compares with DEEPaaS.
    deepaas: Environment | None
    rounds: int = 3
    seconds: float = 10
    warmup: float = 3
    #: Extra ``deepserve run`` options, each measured as one more server (e.g. --no-access-log).
    variants: tuple[tuple[str, ...], ...] = ()


@dataclasses.dataclass
class Row:
    """The medians of one server's rounds in one scenario."""

    server: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    #: CPU time of all the server's processes per answered request: its cost whatever the
    #: parallelism (DEEPaaS answers in one process and predicts in ``--workers`` others).
    cpu_ms: float
    #: Failed requests (errors, timeouts, statuses other than 2xx/3xx), all rounds together.
    errors: int = 0


def _median_row(label: str, runs: list[tuple[load.Throughput, float]]) -> Row:
    return Row(
        label,
        statistics.median(run.requests_per_s for run, _ in runs),
        statistics.median(run.p50_ms for run, _ in runs),
        statistics.median(run.p99_ms for run, _ in runs),
        statistics.median(cpu_ms for _, cpu_ms in runs),
        sum(run.errors for run, _ in runs),
    )


def _started(group: list[Server]) -> list[Server]:
    try:
        for server in group:
            server.start()
    except BaseException:
        for server in group:
            server.stop()
        raise
    return group


def throughput(
    plan: Plan, model: str, request: Callable[[str], load.Request], *, workers: int
) -> list[Row]:
    """bare Flask, deepserve (and its variants) and DEEPaaS serving ``model`` with ``workers``
    processes, driven by wrk with two connections per worker (see :func:`measure`)."""
    group = [
        servers.flask(plan.deepserve, workers=workers),
        servers.deepserve(plan.deepserve, workers=workers, models=[model]),
        *[
            servers.deepserve(plan.deepserve, workers=workers, models=[model], options=options)
            for options in plan.variants
        ],
        servers.deepaas(plan.deepaas, workers=workers, model=model),
    ]
    try:
        _started(group)
        return measure(plan, group, lambda server: request(server.paths[model]), 2 * workers)
    finally:
        for server in group:
            server.stop()


def measure(
    plan: Plan,
    group: list[Server],
    request: Callable[[Server], load.Request],
    connections: int,
    *,
    warmup_connections: int = 2,
    count_errors: bool = False,
) -> list[Row]:
    """Drive each of the started servers of ``group`` with its ``request`` through wrk, in
    turns: each round measures every server once, in a rotated order; the rows are the medians
    of the rounds. A failed request raises, unless ``count_errors`` (the rows count them)."""
    runs: dict[str, list[tuple[load.Throughput, float]]] = {server.label: [] for server in group}
    for server in group:
        request(server).check(server.port)
        load.wrk(server.port, request(server), seconds=plan.warmup, connections=warmup_connections)
    for number in range(plan.rounds):
        for server in group[number % len(group) :] + group[: number % len(group)]:
            cpu_before = server.cpu_seconds()
            run = load.wrk(
                server.port, request(server), seconds=plan.seconds, connections=connections
            )
            cpu_ms = (server.cpu_seconds() - cpu_before) * 1000 / run.requests
            if run.errors and not count_errors:
                raise RuntimeError(f"{server.label}: {run.errors} failed requests")
            runs[server.label].append((run, cpu_ms))
    return [_median_row(label, measured) for label, measured in runs.items()]


@dataclasses.dataclass
class LargeUpload:
    server: str
    seconds: float
    peak_rss_increase_mib: float
    files_left: int


def _peak_rss_kib(pids: list[int]) -> dict[int, int]:
    """Each live process's peak resident set size (VmHWM), in KiB."""
    peaks = {}
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
        peaks[pid] = int(line.split()[1])
    return peaks


def large_upload(plan: Plan, size: int) -> list[LargeUpload]:
    """One upload of ``size`` bytes to each server (one worker): its time, how much the peak RSS
    of the server's processes grew (the largest growth among them), and the files left in its
    temporary directory afterwards."""
    results = []
    for server in (
        servers.flask(plan.deepserve, workers=1),
        servers.deepserve(plan.deepserve, workers=1, models=["upload"]),
        servers.deepaas(plan.deepaas, workers=1, model="upload"),
    ):
        with server:
            server.start()
            path = server.paths["upload"]
            load.stream_upload(server.port, path, MIB)  # warm-up: every process has served once
            before, files = _peak_rss_kib(server.pids()), server.files()
            answer, seconds = load.stream_upload(server.port, path, size)
            if answer["predictions"]["bytes"] != size:
                raise RuntimeError(f"{server.label} counted {answer} for {size} bytes")
            after = _peak_rss_kib(server.pids())
            growth = max(after[pid] - before.get(pid, 0) for pid in after)
            left = server.files() - files
            results.append(LargeUpload(server.label, seconds, growth / 1024, len(left)))
    return results


@dataclasses.dataclass
class Latency:
    condition: str
    p50_ms: float
    p99_ms: float


def _json(port: int, method: str, path: str, body: dict | None = None) -> dict:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, data, headers)
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def during_training(plan: Plan, rate: float = 100) -> list[Latency]:
    """Predict latency at ``rate`` requests/s on one deepserve worker, idle and while a
    CPU-bound training job runs (in its own process, so on the other core); medians of
    ``plan.rounds`` alternating measurements."""
    idle, busy = [], []
    with servers.deepserve(plan.deepserve, workers=1, models=["burn"]) as server:
        server.start()
        request = load.query_predict(server.paths["burn"])
        request.check(server.port)
        load.paced(server.port, request, rate=rate, seconds=plan.warmup)
        for _ in range(plan.rounds):
            idle.append(load.paced(server.port, request, rate=rate, seconds=plan.seconds))
            train = "/v2/models/burn/train/"
            job = _json(server.port, "POST", train, {"seconds": plan.seconds + 30})
            while _json(server.port, "GET", f"{train}{job['id']}")["status"] != "running":
                time.sleep(0.05)
            time.sleep(0.5)  # the job is past its start-up and burning
            busy.append(load.paced(server.port, request, rate=rate, seconds=plan.seconds))
            _json(server.port, "DELETE", f"{train}{job['id']}")
            while _json(server.port, "GET", f"{train}{job['id']}")["status"] == "running":
                time.sleep(0.05)
    return [
        Latency(
            condition,
            statistics.median(load.percentile(run, 50) for run in runs),
            statistics.median(load.percentile(run, 99) for run in runs),
        )
        for condition, runs in (("idle", idle), ("training", busy))
    ]


@dataclasses.dataclass
class StartUp:
    server: str
    seconds: float


def start_up(plan: Plan) -> list[StartUp]:
    """Seconds from process start to the first 200 on the readiness path (median of rounds)."""
    makers = {
        "deepserve, 1 model": lambda: servers.deepserve(
            plan.deepserve, workers=1, models=["double"]
        ),
        "deepserve, 50 models": lambda: servers.deepserve(plan.deepserve, workers=1, models=MANY),
        "bare Flask, 1 model": lambda: servers.flask(plan.deepserve, workers=1),
        "DEEPaaS, 1 model": lambda: servers.deepaas(plan.deepaas, workers=1, model="double"),
    }
    times: dict[str, list[float]] = {label: [] for label in makers}
    for _ in range(plan.rounds):
        for label, make in makers.items():
            with make() as server:
                times[label].append(server.start())
    return [StartUp(label, statistics.median(values)) for label, values in times.items()]


@dataclasses.dataclass
class Memory:
    mode: str
    master_rss_mib: float
    worker_rss_mib: float
    worker_pss_mib: float
    total_pss_mib: float


def _memory_kib(pid: int) -> dict[str, int]:
    """Rss and Pss of a process, in KiB (from ``/proc/<pid>/smaps_rollup``)."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, value = line.split(":")
        values[key] = int(value.split()[0])
    return values


def memory(plan: Plan, *, workers: int = 2) -> list[Memory]:
    """Memory of a server of ``workers`` workers serving the ``weights`` model (64 MiB loaded in
    its constructor), with the models loaded once in the master (preload, the default) and
    loaded in each worker (``--no-preload``); measured after each worker answered requests."""
    results = []
    for mode, options in (("preload (default)", ()), ("--no-preload", ("--no-preload",))):
        with servers.deepserve(
            plan.deepserve, workers=workers, models=["weights"], options=options
        ) as server:
            server.start()
            request = load.query_predict(server.paths["weights"])
            load.wrk(server.port, request, seconds=plan.warmup, connections=2 * workers)
            # no trainable model, so no job supervisor: the master's children are its workers
            master, *worker_pids = server.pids()
            worker_memory = [_memory_kib(pid) for pid in worker_pids]
            every = [_memory_kib(pid) for pid in (master, *worker_pids)]
            results.append(
                Memory(
                    mode,
                    _memory_kib(master)["Rss"] / 1024,
                    statistics.mean(m["Rss"] for m in worker_memory) / 1024,
                    statistics.mean(m["Pss"] for m in worker_memory) / 1024,
                    sum(m["Pss"] for m in every) / 1024,
                )
            )
    return results


FLOWER = {"sepal_length": 5.9, "sepal_width": 3.0, "petal_length": 5.1, "petal_width": 1.8}


def flower_predict(path: str) -> load.Request:
    """One iris flower as a JSON body (the forest's and the no-op model's arguments)."""
    return load.Request(path, json.dumps(FLOWER).encode(), "application/json")


@dataclasses.dataclass
class Batching:
    """What the batching scenario measured."""

    #: At ``connections`` clients: the forest batched and unbatched, and the no-op model.
    loaded: list[Row]
    #: At one client: the forest batched and unbatched.
    alone: list[Row]
    connections: int
    threads: int
    max_wait_ms: float
    #: Mean requests per predict_batch call of the batched forest under load.
    mean_batch: float
    #: The forest's own rate, in Python, in calls of ``mean_batch`` rows and of one row.
    model_rows_per_s: float
    model_rows_per_s_alone: float


BATCHED, UNBATCHED, NOOP = "forest, batched", "forest, unbatched (--batch forest=1)", "no-op model"
#: The batched servers' limits: a batch of up to 64 requests, waiting at most 30 ms for more.
#: The worker parses requests in the interpreter the model holds while it computes, so a batch
#: grows by about one request per millisecond of wait: 5 ms gave batches of 5 (2.5x unbatched),
#: 30 ms batches of 26 (6.6x); longer waits gave no more (docs/performance.md, Batching).
MAX_BATCH, MAX_WAIT_MS = 64, 30.0


def batching(plan: Plan, *, connections: int = 64, threads: int = 64, workers: int = 1) -> Batching:
    """The 100-tree forest served with and without batching, and the no-op model, by the same
    server (``workers`` processes of ``threads`` threads) at ``connections`` keep-alive clients
    then at one; and the forest called directly in Python on batches of the size the server
    formed."""
    threaded = ("--threads", str(threads))
    limits = f"={MAX_BATCH},{MAX_WAIT_MS:g}"
    group = [
        servers.deepserve(
            plan.deepserve,
            workers=workers,
            models=[model],
            options=(*threaded, "--batch", model + limits),
        )
        for model in ("forest", "noop")
    ]
    group.insert(
        1,
        servers.deepserve(
            plan.deepserve,
            workers=workers,
            models=["forest"],
            options=(*threaded, "--batch", "forest=1"),
        ),
    )
    for server, label in zip(group, (BATCHED, UNBATCHED, NOOP), strict=True):
        server.label = label
    request = lambda server: flower_predict(next(iter(server.paths.values())))  # noqa: E731
    try:
        _started(group)
        loaded = measure(plan, group, request, connections, warmup_connections=connections)
        sizes = _batch_sizes(group[0])
        alone = measure(plan, group[:2], request, 1, warmup_connections=1)
    finally:
        for server in group:
            server.stop()
    mean_batch = sizes[0] / sizes[1]
    return Batching(
        loaded,
        alone,
        connections,
        threads,
        max_wait_ms=MAX_WAIT_MS,
        mean_batch=mean_batch,
        model_rows_per_s=_model_rate(plan, round(mean_batch)),
        model_rows_per_s_alone=_model_rate(plan, 1),
    )


def _batch_sizes(server: Server) -> tuple[float, float]:
    """The sum and count of the batch sizes a server's /metrics reports for its forest."""
    connection = http.client.HTTPConnection(HOST, server.port, timeout=30)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
    finally:
        connection.close()
    found = dict(
        re.findall(r'^deepserve_batch_size_(sum|count)\{model="forest"\} (\S+)$', text, re.M)
    )
    return float(found["sum"]), float(found["count"])


MODEL_RATE = """
import sys, time
from deepserve_bench.forest import ForestModel
flower = dict(sepal_length=5.9, sepal_width=3.0, petal_length=5.1, petal_width=1.8)
model, size, seconds = ForestModel(), int(sys.argv[1]), float(sys.argv[2])
batch = [dict(flower) for _ in range(size)]
model.predict_batch(batch)
calls, started = 0, time.perf_counter()
while time.perf_counter() - started < seconds:
    model.predict_batch(batch)
    calls += 1
print(calls * size / (time.perf_counter() - started))
"""


def _model_rate(plan: Plan, size: int) -> float:
    """Rows per second of the forest's predict_batch called directly on batches of ``size``."""
    command = [plan.deepserve.bin("python"), "-c", MODEL_RATE, str(size), str(plan.seconds / 2)]
    return float(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def _model_request(request: Callable[[str], load.Request], model: str, server: Server):
    return request(server.paths[model])


@dataclasses.dataclass
class Threads:
    """One server configuration of the threads scenario."""

    model: str
    threads: int
    connections: int
    row: Row


def threads(plan: Plan, counts: tuple[int, ...] = (1, 4, 8, 16, 32, 64)) -> list[Threads]:
    """One deepserve worker with each number of ``counts`` threads, serving the trivial
    ``double`` at 2 and 64 connections and the batched forest at 64."""
    results = []
    for model, request, connections in (
        ("double", load.json_predict, 2),
        ("double", load.json_predict, 64),
        ("forest", flower_predict, 64),
    ):
        group = [
            servers.deepserve(
                plan.deepserve, workers=1, models=[model], options=("--threads", str(count))
            )
            for count in counts
        ]
        try:
            _started(group)
            rows = measure(
                plan, group, functools.partial(_model_request, request, model), connections,
                warmup_connections=connections, count_errors=True,
            )  # fmt: skip
        finally:
            for server in group:
                server.stop()
        results += [
            Threads(model, count, connections, row) for count, row in zip(counts, rows, strict=True)
        ]
    return results
