"""What the Open Inference Protocol route costs beside /predict/, in one process and one run.

    .venv/bin/python bench/oip.py [--repeat N]

Calls the iris example through the WSGI app (Flask's test client: no network, no gunicorn),
so the numbers are deepserve's own work per request plus the model's. Prints the mean time per
flower of each way and its ratio to one JSON /predict/ call. Absolute numbers differ between
machines; compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import json
import time

from deepserve.api import create_app
from deepserve.loading import discover
from deepserve.tensors import HEADER_LENGTH, encode

FLOWER = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


def infer_json(rows: int) -> dict:
    """An OIP request of ``rows`` flowers as JSON tensors."""
    inputs = [
        {"name": name, "datatype": "FP64", "shape": [rows], "data": [value] * rows}
        for name, value in FLOWER.items()
    ]
    return {"inputs": inputs}


def infer_binary(rows: int) -> tuple[bytes, dict]:
    """The same as binary tensor data, as tritonclient sends it by default."""
    raw = [encode("FP32", [value] * rows) for value in FLOWER.values()]
    inputs = [
        {
            "name": name,
            "datatype": "FP32",
            "shape": [rows],
            "parameters": {"binary_data_size": len(r)},
        }
        for name, r in zip(FLOWER, raw, strict=True)
    ]
    header = json.dumps({"inputs": inputs}).encode()
    return header + b"".join(raw), {HEADER_LENGTH: str(len(header))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="requests per way")
    repeat = parser.parse_args().repeat
    records = discover(["iris"]).models
    records[0].warm()
    client = create_app(records).test_client()
    body, headers = infer_binary(100)

    def infer(**kwargs):
        return client.post("/v2/models/iris/infer", **kwargs)

    ways = {  # name -> (flowers per request, call)
        "predict/ JSON, 1 flower": (
            1,
            lambda: client.post("/v2/models/iris/predict/", json=FLOWER),
        ),
        "infer JSON, 1 row": (1, lambda: infer(json=infer_json(1))),
        "infer JSON, 100 rows": (100, lambda: infer(json=infer_json(100))),
        "infer binary, 100 rows": (100, lambda: infer(data=body, headers=headers)),
    }
    results = {}
    for name, (flowers, call) in ways.items():
        assert call().status_code == 200  # warm up, and check
        count = max(1, repeat // flowers) if flowers > 1 else repeat
        start = time.perf_counter()
        for _ in range(count):
            call()
        results[name] = (time.perf_counter() - start) / (count * flowers)
    base = results["predict/ JSON, 1 flower"]
    print(f"{'way':<26} {'µs per flower':>14} {'ratio':>7}")
    for name, seconds in results.items():
        print(f"{name:<26} {seconds * 1e6:>14.0f} {seconds / base:>7.2f}")


if __name__ == "__main__":
    main()
