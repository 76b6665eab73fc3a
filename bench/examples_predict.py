"""Time predict of the example models on typical inputs: in-process and through the HTTP API.

    python bench/examples_predict.py [--repeat N]

Needs deepserve and the examples installed (``make test`` or ``make serve`` does it). Trained
versions are ignored: it runs with an empty temporary data directory, so the default models
answer. "in-process" is the model called through deepserve's wrapper (arguments loaded and
checked, as the CLI does); "HTTP" adds the Flask app (multipart parsing, upload to disk, JSON
or binary response) through its test client, without a network. Prints a Markdown table of
the median and the slowest run and the median CPU time, in milliseconds, and the time each
model took to warm up.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

from deepserve.api import create_app
from deepserve.loading import discover
from deepserve.model import UploadedFile
from deepserve_load_forecast.series import BUNDLED

JSON = "application/json"


def week_csv() -> bytes:
    """Eight days of the bundled load series (192 hours): a typical forecast input."""
    lines = BUNDLED.read_text().splitlines()
    return ("\n".join([lines[0], *lines[-9 * 24 : -24]]) + "\n").encode()


def ihc_png() -> bytes:
    """scikit-image's 512 x 512 immunohistochemistry sample as PNG."""
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.immunohistochemistry()).save(buffer, format="PNG")
    return buffer.getvalue()


def timed(call: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """Median and maximum wall time, and median CPU time of this process, of ``call`` in
    milliseconds, after one unmeasured run. On a busy machine CPU time is the steadier one."""
    call()
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append(1000 * (time.perf_counter() - start))
        cpu.append(1000 * (time.process_time() - start_cpu))
    return statistics.median(wall), max(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per case")
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as directory:
        os.environ["DEEPSERVE_DATA_DIR"] = directory
        run(repeat, Path(directory))


def run(repeat: int, directory: Path) -> None:
    discovery = discover(["iris", "load-forecast", "cell-segmentation"])
    records = {record.name: record for record in discovery.models}
    warm = {}
    for name, record in records.items():
        start = time.perf_counter()
        record.warm()
        warm[name] = time.perf_counter() - start
    client = create_app(discovery.models).test_client()

    files = {"data": ("week.csv", week_csv()), "image": ("ihc.png", ihc_png())}
    for filename, content in files.values():
        (directory / filename).write_bytes(content)

    def in_process(model: str, media_type: str, **args):
        record = records[model]
        for name in record.predict_args.file_args & args.keys():
            filename = files[name][0]
            args[name] = UploadedFile(name, str(directory / filename), "", filename)
        loaded = record.predict_args.load(args)
        return lambda: record.predict(loaded, media_type)

    def http(model: str, media_type: str, **args):
        def call():
            data = {
                key: (io.BytesIO(files[key][1]), files[key][0]) if value == "@" else value
                for key, value in args.items()
            }
            response = client.post(
                f"/v2/models/{model}/predict/", data=data, headers={"Accept": media_type}
            )
            assert response.status_code == 200, response.get_data(as_text=True)

        return call

    iris = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    cases = [
        ("iris", "one flower", JSON, iris),
        ("load-forecast", "192 h CSV, 3 models", JSON, {"data": "@"}),
        ("load-forecast", "192 h CSV, 3 models", "image/png", {"data": "@"}),
        ("load-forecast", "192 h CSV, 3 models", "text/csv", {"data": "@"}),
        ("cell-segmentation", "512 x 512 RGB PNG", JSON, {"image": "@"}),
        ("cell-segmentation", "512 x 512 RGB PNG", "image/png", {"image": "@"}),
    ]
    print(f"{repeat} timed runs per case; wall time in ms (median / slowest), CPU time median\n")
    print("| model | input | output | in-process wall | in-process CPU | HTTP wall |")
    print("| --- | --- | --- | --- | --- | --- |")
    for model, label, media_type, args in cases:
        direct = timed(in_process(model, media_type, **args), repeat)
        served = timed(http(model, media_type, **args), repeat)
        print(
            f"| {model} | {label} | {media_type} | {direct[0]:.0f} / {direct[1]:.0f} "
            f"| {direct[2]:.0f} | {served[0]:.0f} / {served[1]:.0f} |"
        )
    print("\nwarm-up: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in warm.items()))
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
