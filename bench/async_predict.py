"""What an asynchronous prediction costs against a synchronous one, on a real server.

    python bench/async_predict.py [--repeat N] [--model iris]

Needs deepserve and the examples installed (``make test`` or ``make serve`` does it). Starts
``deepserve run`` on a free loopback port with an empty temporary data directory, then times,
``--repeat`` times each: a synchronous predict; the ``Prefer: respond-async`` submission (until
its 202); and the submission until its job is ``done`` (polled every 10 ms), split by the job's
record into the wait for the supervisor (created to started) and the job's process (started to
finished: a fresh process that loads its model, then predicts). That difference to the
synchronous time is the price of durability. Prints a Markdown table of medians, in
milliseconds, and the load average (on a busy machine the job, which runs at ``nice`` 19,
waits for the CPU).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

DEEPSERVE = Path(sys.executable).with_name("deepserve")
POLL = 0.01
#: Arguments of each example model's prediction: small, typical ones.
ARGUMENTS = {
    "iris": {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def server(model: str):
    """A ``deepserve run`` of ``model`` on a fresh data directory; yields its URL."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        command = [str(DEEPSERVE), "run", "--port", str(port), "--model", model]
        command += ["--data-dir", data_dir, "--log-level", "warning", "--no-access-log"]
        process = subprocess.Popen(command, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with contextlib.suppress(requests.ConnectionError):
                    if requests.get(url + "/v2/health/ready", timeout=2).ok:
                        break
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            process.wait(30)


def median_ms(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def median_between(jobs: list[dict], start: str, end: str) -> float:
    """The median time in milliseconds from the ``start`` to the ``end`` time of ``jobs``."""

    def moment(text: str) -> datetime.datetime:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))  # Python 3.10

    spans = [moment(job[end]) - moment(job[start]) for job in jobs]
    return statistics.median(span.total_seconds() for span in spans) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--model", default="iris", choices=sorted(ARGUMENTS))
    options = parser.parse_args()
    arguments = ARGUMENTS[options.model]
    with server(options.model) as url, requests.Session() as session:
        predict = f"{url}/v2/models/{options.model}/predict/"

        def synchronous():
            session.post(predict, data=arguments, timeout=30).raise_for_status()

        def submit() -> str:
            headers = {"Prefer": "respond-async"}
            response = session.post(predict, data=arguments, headers=headers, timeout=30)
            assert response.status_code == 202, response.text
            return response.headers["Location"]

        jobs = []

        def until_done():
            location = url + submit()
            while (job := session.get(location, timeout=30).json())["status"] != "done":
                assert job["status"] in ("queued", "running"), job
                time.sleep(POLL)
            jobs.append(job)

        synchronous()  # the first request of each worker pays for what is not preloaded
        rows = [
            ("synchronous predict", median_ms(synchronous, options.repeat)),
            ("asynchronous: until the 202", median_ms(submit, options.repeat)),
            ("asynchronous: until done", median_ms(until_done, options.repeat)),
            ("of which: created to started", median_between(jobs, "created", "started")),
            ("of which: started to finished", median_between(jobs, "started", "finished")),
        ]
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"model `{options.model}`, {options.repeat} runs each, {os.cpu_count()} CPUs, ", end="")
    print(f"load average {load}\n")
    print("| | median (ms) |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value:.1f} |")


if __name__ == "__main__":
    main()
