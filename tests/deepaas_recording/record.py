"""Record what a real ``deepaas-run`` 2.6.0 answers to the requests of ``tests/deepaas_upstream``
into ``deepaas-2.6.0.json`` (``tests/test_deepaas_answers.py`` compares deepserve with it).

Run it with a Python that has ``requests`` (the test venv will do), from the repository root:

    .venv-test-mm4/bin/python tests/deepaas_recording/record.py

DEEPaaS gets its own virtual environment (``bench/.venvs/deepaas-only``, PyPI needed once); it
serves its test model when no model is installed, and deepaas-query when that one is declared.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(HERE.parent)]

import deepaas_upstream as upstream  # noqa: E402
from environments import Environment  # noqa: E402
from servers import free_port  # noqa: E402

FIXTURE = HERE / f"deepaas-{upstream.VERSION}.json"


def send(url: str, request: dict, answers: dict) -> requests.Response:
    """Send one request of ``tests/deepaas_upstream`` to the server at ``url``."""
    time.sleep(request.get("after", 0))
    path = request["path"]
    if path.startswith("train-of:"):  # the training started by an earlier request
        path = f"/v2/models/{upstream.TEST_MODEL}/train/" + answers[path[9:]]["body"]["uuid"]
    files = {name: tuple(file) for name, file in request.get("files", {}).items()}
    return requests.request(
        request["method"],
        url + path,
        params=request.get("query"),
        data=request.get("form"),
        files=files or None,
        headers=request.get("headers"),
        timeout=120,
    )


def answer(response: requests.Response) -> dict:
    """Status, media type and body (JSON, text, or the digest of binary content)."""
    media_type = response.headers.get("Content-Type", "").split(";")[0]
    if media_type == "application/json":
        body = response.json()
    elif media_type.startswith("text/"):
        body = response.text
    else:
        body = {
            "sha256": hashlib.sha256(response.content).hexdigest(),
            "size": len(response.content),
            "start": base64.b64encode(response.content[:8]).decode(),
        }
    return {"status": response.status_code, "content_type": media_type, "body": body}


def ready(url: str) -> bool:
    with contextlib.suppress(requests.ConnectionError):
        return requests.get(url + "/", timeout=5).ok
    return False


@contextlib.contextmanager
def deepaas_run(environment: Environment, pythonpath: list[Path]):
    """``deepaas-run`` on a free loopback port; yields its URL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, pythonpath))}
    command = [environment.bin("deepaas-run"), "--listen-ip", "127.0.0.1"]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [*command, "--listen-port", str(port)], env=env, stdout=log, stderr=log
        )
        try:
            url = f"http://127.0.0.1:{port}"
            while not ready(url):
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError("deepaas-run exited:\n" + log.read().decode())
                time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            process.wait(30)


def record(environment: Environment, requests_: list[dict], pythonpath: list[Path]) -> dict:
    answers: dict = {}
    with deepaas_run(environment, pythonpath) as url:
        for request in requests_:
            answers[request["name"]] = answer(send(url, request, answers))
            print(request["name"], answers[request["name"]]["status"], file=sys.stderr)
    return answers


def main() -> None:
    environment = Environment("deepaas-only", [f"deepaas=={upstream.VERSION}"], []).prepare()
    answers = record(environment, upstream.TEST_MODEL_REQUESTS, [])
    with tempfile.TemporaryDirectory() as declared:
        query_dir = upstream.query_model_dir(Path(declared))
        answers |= record(environment, upstream.QUERY_MODEL_REQUESTS, [query_dir])
    versions = environment.versions("deepaas", "webargs", "marshmallow", "aiohttp")
    document = {"versions": versions, "answers": answers}
    FIXTURE.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    print(f"written {FIXTURE.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
