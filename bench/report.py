"""The Markdown report: machine and versions, one table per scenario, the targets' verdicts."""

from __future__ import annotations

import dataclasses
import datetime
import os
import platform
import re
import subprocess
from pathlib import Path

from environments import Environment
from scenarios import (
    BATCHED,
    NOOP,
    UNBATCHED,
    Batching,
    LargeUpload,
    Latency,
    Memory,
    Plan,
    Row,
    StartUp,
    Threads,
)  # fmt: skip

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
DEEPSERVE_PACKAGES = (
    "deepserve", "flask", "flask-restx", "werkzeug", "webargs", "marshmallow", "gunicorn",
    "prometheus-client", "scikit-learn",
)  # fmt: skip
DEEPAAS_PACKAGES = ("deepaas", "aiohttp", "webargs", "marshmallow")


def _first(path: str, prefix: str) -> str:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return "?"
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(prefix)), "?")


def machine(plan: Plan) -> list[tuple[str, str]]:
    """What the numbers were measured on."""
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[:2]
    python = subprocess.run(
        [plan.deepserve.bin("python"), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    facts = [
        ("date", datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("CPU", f"{_first('/proc/cpuinfo', 'model name')}, {os.cpu_count()} cores"),
        ("memory", _first("/proc/meminfo", "MemTotal")),
        ("system", f"{_os_name()}, Linux {platform.release()}"),
        ("Python", python),
        ("load generator", " ".join(wrk)),
        ("deepserve environment", _versions(plan.deepserve, DEEPSERVE_PACKAGES)),
    ]
    if plan.deepaas is not None:
        facts.append(("DEEPaaS environment", _versions(plan.deepaas, DEEPAAS_PACKAGES)))
    return facts


def _os_name() -> str:
    text = Path("/etc/os-release").read_text() if Path("/etc/os-release").exists() else ""
    match = re.search(r'^PRETTY_NAME="?([^"\n]*)', text, re.MULTILINE)
    return match[1] if match else platform.system()


def _versions(env: Environment, packages: tuple[str, ...]) -> str:
    return ", ".join(f"{name} {version}" for name, version in env.versions(*packages).items())


def load_average() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return lines + [""]


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"
    return str(value)


def _find(rows: list[Row], prefix: str) -> Row:
    return next(row for row in rows if row.server.startswith(prefix))


@dataclasses.dataclass
class Verdict:
    target: str
    measured: str
    met: bool


class Report:
    """Collects the sections and the verdicts, then renders them."""

    def __init__(self, plan: Plan, load_at_start: str) -> None:
        self.plan = plan
        self.lines: list[str] = []
        self.verdicts: list[Verdict] = []
        self.load_at_start = load_at_start
        self.machine = machine(plan)

    def throughput(self, title: str, by_workers: dict[int, list[Row]], *, judged: bool) -> None:
        self.lines += [f"### {title}", ""]
        rows = []
        for workers, measured in by_workers.items():
            flask, deepserve = _find(measured, "bare Flask"), _find(measured, "deepserve")
            deepaas = _find(measured, "DEEPaaS")
            for row in measured:
                rows.append(
                    [
                        workers,
                        row.server,
                        row.requests_per_s,
                        row.p50_ms,
                        row.p99_ms,
                        row.cpu_ms,
                        f"{row.requests_per_s / flask.requests_per_s:.2f}x",
                        f"{row.p99_ms / flask.p99_ms:.2f}x",
                    ]
                )
            if judged:
                self._judge_throughput(title, workers, flask, deepserve, deepaas)
        header = [
            "workers", "server", "requests/s", "p50 ms", "p99 ms", "CPU ms per request",
            "vs Flask", "p99 vs Flask",
        ]  # fmt: skip
        self.lines += _table(header, rows)

    def _judge_throughput(self, title, workers, flask, deepserve, deepaas) -> None:
        where = f"{title}, {workers} worker{'s' * (workers > 1)}"
        speed = deepserve.requests_per_s / flask.requests_per_s
        self.verdicts.append(
            Verdict(f"{where}: >= 0.75x bare Flask", f"{speed:.2f}x", speed >= 0.75)
        )
        ratio = deepserve.requests_per_s / deepaas.requests_per_s
        self.verdicts.append(Verdict(f"{where}: >= 3x DEEPaaS", f"{ratio:.1f}x", ratio >= 3))
        p99 = deepserve.p99_ms / flask.p99_ms
        self.verdicts.append(Verdict(f"{where}: p99 <= 2x bare Flask", f"{p99:.2f}x", p99 <= 2))

    def large_upload(self, size_mib: int, results: list[LargeUpload]) -> None:
        self.lines += [f"### One upload of {size_mib} MiB (1 worker)", ""]
        rows = [[r.server, r.seconds, r.peak_rss_increase_mib, r.files_left] for r in results]
        header = ["server", "seconds", "peak RSS increase MiB", "files left behind"]
        self.lines += _table(header, rows)
        ours = next(r for r in results if r.server.startswith("deepserve"))
        self.verdicts.append(
            Verdict(
                f"{size_mib} MiB upload: peak RSS +< 50 MB, nothing left",
                f"+{ours.peak_rss_increase_mib:.1f} MiB, {ours.files_left} files left",
                ours.peak_rss_increase_mib * 1.048576 < 50 and ours.files_left == 0,
            )
        )

    def during_training(self, rate: float, results: list[Latency]) -> None:
        self.lines += [f"### Predict at {rate:.0f} requests/s, idle and during training", ""]
        rows = [[r.condition, r.p50_ms, r.p99_ms] for r in results]
        self.lines += _table(["deepserve, 1 worker", "p50 ms", "p99 ms"], rows)
        idle, busy = results
        ratio = busy.p99_ms / idle.p99_ms
        self.verdicts.append(
            Verdict("predict p99 during training <= 1.5x idle", f"{ratio:.2f}x", ratio <= 1.5)
        )

    def start_up(self, results: list[StartUp]) -> None:
        self.lines += ["### Start-up: process start to the first 200 on readiness", ""]
        self.lines += _table(["server", "seconds"], [[r.server, r.seconds] for r in results])
        many = next(r for r in results if "50 models" in r.server)
        self.verdicts.append(
            Verdict("start-up with 50 models < 3 s", f"{many.seconds:.2f} s", many.seconds < 3)
        )

    def memory(self, results: list[Memory]) -> None:
        self.lines += ["### Memory, 2 workers serving a model of 64 MiB", ""]
        header = [
            "deepserve",
            "master RSS MiB",
            "worker RSS MiB",
            "worker PSS MiB",
            "total PSS MiB",
        ]
        rows = [
            [r.mode, r.master_rss_mib, r.worker_rss_mib, r.worker_pss_mib, r.total_pss_mib]
            for r in results
        ]
        self.lines += _table(header, rows)

    def batching(self, result: Batching) -> None:
        """The forest batched and unbatched, the no-op model, the model's own rate; the four
        targets of batching."""
        self.lines += [
            f"### Batching: a 100-tree random forest, {result.connections} clients "
            f"(1 worker, {result.threads} threads)",
            "",
        ]
        header = ["clients", "server", "requests/s", "p50 ms", "p99 ms", "CPU ms per request"]
        rows = [
            [clients, r.server, r.requests_per_s, r.p50_ms, r.p99_ms, r.cpu_ms]
            for clients, measured in ((result.connections, result.loaded), (1, result.alone))
            for r in measured
        ]
        self.lines += _table(header, rows)
        batched, unbatched = _find(result.loaded, BATCHED), _find(result.loaded, UNBATCHED)
        noop = _find(result.loaded, NOOP)
        compute_ms = 1000 * result.mean_batch / result.model_rows_per_s
        self.lines += _table(
            ["the forest alone (predict_batch in Python)", "rows/s"],
            [
                [f"batches of {result.mean_batch:.1f} (the server's mean under load)",
                 result.model_rows_per_s],
                ["one row per call", result.model_rows_per_s_alone],
            ],
        )  # fmt: skip
        model_cpu_ms = 1000 / result.model_rows_per_s  # one core busy per row, in batches
        self.lines += [
            f"CPU per request: the batched forest {batched.cpu_ms:.2f} ms; the no-op model "
            f"{noop.cpu_ms:.2f} ms plus the forest's own {model_cpu_ms:.2f} ms per row "
            f"= {noop.cpu_ms + model_cpu_ms:.2f} ms.",
            "",
            f"With {result.connections} closed-loop clients a request waits for those ahead of "
            f"it: the mean latency cannot be below clients / throughput (Little's law), "
            f"{1000 * result.connections / batched.requests_per_s:.1f} ms for the batched forest.",
            "",
        ]
        limit = min(result.model_rows_per_s, noop.requests_per_s)
        speed_up = batched.requests_per_s / unbatched.requests_per_s
        share = batched.requests_per_s / limit
        bound = result.max_wait_ms + 3 * compute_ms
        alone_b, alone_u = _find(result.alone, BATCHED), _find(result.alone, UNBATCHED)
        alone = alone_b.p50_ms / alone_u.p50_ms
        self.verdicts += [
            Verdict("batched forest >= 5x unbatched", f"{speed_up:.1f}x", speed_up >= 5),
            Verdict(
                "batched forest >= 0.6x the lower of the model's own rate and the no-op model's",
                f"{share:.2f}x of {limit:,.0f}/s",
                share >= 0.6,
            ),
            Verdict(
                f"batched p99 <= max wait + 3 batches' compute ({bound:.1f} ms)",
                f"{batched.p99_ms:.1f} ms",
                batched.p99_ms <= bound,
            ),
            Verdict("1 client: batched p50 <= 1.2x unbatched", f"{alone:.2f}x", alone <= 1.2),
        ]

    def threads(self, results: list[Threads]) -> None:
        """One worker with several thread counts: what the --threads default rests on."""
        self.lines += ["### Threads per worker (1 worker)", ""]
        header = [
            "model",
            "clients",
            "threads",
            "requests/s",
            "p50 ms",
            "p99 ms",
            "CPU ms per request",
            "failed requests",
        ]
        rows = [
            [r.model, r.connections, r.threads, r.row.requests_per_s, r.row.p50_ms, r.row.p99_ms,
             r.row.cpu_ms, r.row.errors]
            for r in results
        ]  # fmt: skip
        self.lines += _table(header, rows)

    def render(self) -> str:
        plan = self.plan
        lines = [BEGIN, "", "### Machine", ""]
        lines += _table(
            ["", "measured on"], [*self.machine, ("load average", self.load_averages())]
        )
        lines += [
            f"{plan.rounds} rounds of {plan.seconds:g} s per server and scenario, servers in "
            f"turn; medians of the rounds. wrk: 1 thread, 2 connections per worker.",
            "",
        ]
        lines += self.lines
        if self.verdicts:
            lines += ["### Targets", ""]
            rows = [[v.target, v.measured, "met" if v.met else "**missed**"] for v in self.verdicts]
            lines += _table(["target", "measured", ""], rows)
        return "\n".join([*lines, END]) + "\n"

    def load_averages(self) -> str:
        return f"{self.load_at_start} at start, {load_average()} at end (1/5/15 min)"


def write(path: Path, section: str) -> None:
    """Replace the generated section of ``path`` (between the markers) with ``section``."""
    text = path.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END) + 1
    path.write_text(text[:start] + section + text[end:])
