"""Schemathesis fuzzes a real server from its own live ``/swagger.json``.

Every operation gets a bounded number of generated requests (valid ones, and the edge cases of
its parameters); every answer must not be a 5xx and must conform to the spec: status code
documented, content type declared, body matching its schema, valid requests accepted. The
server runs under a base path and with a token, so the spec's ``basePath`` and security
declarations are exercised too.
"""

from __future__ import annotations

import os
import subprocess
import sysconfig
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.fuzz]

SCHEMATHESIS = Path(sysconfig.get_path("scripts")) / "schemathesis"
# Not `failing` and `badoutput` (their 500s are what they test) nor `slow` (time);
# `deepaas-query` answers in DEEPaaS's shapes (`accept` from the query or form).
MODELS = ("echo", "instance", "module", "files", "media", "iris", "deepaas-query")
EXAMPLES_PER_OPERATION = 50
# Form fields are strings: schemathesis's "negative" form data (null, a list of one item, a
# missing body when every argument is optional) is often a valid request, so this check would
# flag correct answers. Invalid arguments are tested in test_api.py.
EXCLUDED_CHECKS = ("negative_data_rejection",)


def test_the_api_answers_as_its_spec_says(run_server, tmp_path):
    models = [arg for name in MODELS for arg in ("--model", name)]
    server = run_server(
        "--workers",
        "2",
        "--base-path",
        "/fuzz",
        "--token",
        "fuzz-token",
        *models,
        "--data-dir",
        str(tmp_path / "data"),  # the training jobs it starts stay here
        ready_path="/fuzz/v2/health/ready",
    )
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            server.url + "/fuzz/swagger.json",
            "--header",
            "Authorization: Bearer fuzz-token",
            "--checks",
            "all",
            "--exclude-checks",
            ",".join(EXCLUDED_CHECKS),
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--seed",
            os.environ.get("DEEPSERVE_FUZZ_SEED", "20240601"),
            "--generation-database",
            "none",
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=600,  # about 3 min on 2 busy cores: the limit only catches a hang
        cwd=tmp_path,  # schemathesis keeps its reports and state in the working directory
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, (
        report[-20000:] + "\n--- server log ---\n" + server.output()[-5000:]
    )
    assert "Tested: " in report
