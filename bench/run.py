"""Benchmark deepserve against a bare Flask app and DEEPaaS, on this machine, in one run.

    python3 bench/run.py                      # the default scenarios; rewrites docs/performance.md
    python3 bench/run.py --only predict-query --rounds 1 --seconds 5     # a quick look

Needs wrk (``apt-get install wrk``) and PyPI access the first time: the servers run from
virtual environments the script creates under ``bench/.venvs/``. See bench/README.md.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
from pathlib import Path

import load
import scenarios
from environments import ROOT, deepaas_environment, deepserve_environment
from report import Report, load_average, write

#: What a run without --only measures: the generated section of docs/performance.md.
DEFAULT = (
    "predict-query", "predict-json", "upload-1mb", "upload-500mb", "training", "startup",
    "memory",
)  # fmt: skip
#: Run with --only; their results are explained by hand in docs/performance.md and
#: docs/architecture.md.
SCENARIOS = (*DEFAULT, "batching", "threads")
#: The scenarios that measure DEEPaaS too (its environment is prepared only for them).
WITH_DEEPAAS = {"predict-query", "predict-json", "upload-1mb", "upload-500mb"}
TRAINING_RATE = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds per scenario (median)")
    parser.add_argument("--seconds", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per server")
    parser.add_argument("--only", action="append", choices=SCENARIOS, help="run only this one")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="OPTIONS",
        help="also measure deepserve with these run options (e.g. '--no-access-log')",
    )
    parser.add_argument(
        "--output",
        default=str(ROOT / "docs" / "performance.md"),
        help="the page whose generated section is replaced (not with --only)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")
    chosen = args.only or DEFAULT
    plan = scenarios.Plan(
        deepserve_environment().prepare(),
        deepaas_environment().prepare() if set(chosen) & WITH_DEEPAAS else None,
        rounds=args.rounds,
        seconds=args.seconds,
        warmup=args.warmup,
        variants=tuple(tuple(shlex.split(options)) for options in args.variant),
    )
    report = Report(plan, load_average())
    print(f"load average {load_average()}", file=sys.stderr)
    for name in chosen:
        print(f"{name} ...", file=sys.stderr)
        run(name, plan, report)
    section = report.render()
    print(section)
    if not args.only:
        write(Path(args.output), section)
        print(f"written to {args.output}", file=sys.stderr)


def run(name: str, plan: scenarios.Plan, report: Report) -> None:
    """Run scenario ``name`` and add its section to ``report``."""
    if name == "predict-query":
        measured = {
            w: scenarios.throughput(plan, "double", load.query_predict, workers=w) for w in (1, 2)
        }
        report.throughput("Small predict, query string", measured, judged=True)
    elif name == "predict-json":
        measured = {
            w: scenarios.throughput(plan, "double", load.json_predict, workers=w) for w in (1, 2)
        }
        report.throughput("Small predict, JSON body", measured, judged=True)
    elif name == "upload-1mb":
        measured = {
            2: scenarios.throughput(
                plan, "upload", lambda path: load.upload(path, scenarios.MIB), workers=2
            )
        }
        report.throughput("Multipart upload of 1 MiB", measured, judged=False)
    elif name == "upload-500mb":
        report.large_upload(500, scenarios.large_upload(plan, 500 * scenarios.MIB))
    elif name == "training":
        report.during_training(TRAINING_RATE, scenarios.during_training(plan, TRAINING_RATE))
    elif name == "startup":
        report.start_up(scenarios.start_up(plan))
    elif name == "memory":
        report.memory(scenarios.memory(plan))
    elif name == "batching":
        report.batching(scenarios.batching(plan))
    elif name == "threads":
        report.threads(scenarios.threads(plan))


if __name__ == "__main__":
    main()
