"""DEEPaaS 2.6.0 itself, for comparing answers: its test model (taken from its wheel when
needed, never kept in this repository) and the requests whose answers are recorded.

Plain standard library: ``tests/deepaas_recording/record.py`` uses it outside the test venv too.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

VERSION = "2.6.0"
TEST_MODEL = "deepaas-test"
QUERY_MODEL = "deepaas-query"  # tests/deepaas_models/deepaas_testmodels/query.py
DEEPAAS_MODELS = Path(__file__).resolve().parent / "deepaas_models"
DATA = ("data.txt", "some data\n")  # the file sent to the models


def entry_point_dir(path: Path, dist: str, entry_points: dict[str, str]) -> Path:
    """Make ``path`` a place where a distribution ``dist`` declares ``deepaas.v2.model``
    entry points: put it on ``sys.path`` (or ``PYTHONPATH``) and they are found."""
    info = path / f"{dist}-0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0\n")
    lines = [f"{name} = {target}" for name, target in entry_points.items()]
    (info / "entry_points.txt").write_text("[deepaas.v2.model]\n" + "\n".join(lines) + "\n")
    return path


def download_wheel(dest: Path) -> Path:
    """The ``deepaas`` wheel from PyPI (raises CalledProcessError when it cannot be had)."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
        + ["-d", str(dest), f"deepaas=={VERSION}"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(dest.glob(f"deepaas-{VERSION}-*.whl"))


def test_model_dir(wheel: Path, path: Path) -> Path:
    """``path`` holding DEEPaaS's own test model (``deepaas/model/v2/test.py`` of ``wheel``,
    unchanged) as the module ``deepaas_v2_test``, declared as the entry point deepaas-test."""
    path.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        (path / "deepaas_v2_test.py").write_bytes(archive.read("deepaas/model/v2/test.py"))
    return entry_point_dir(path, "deepaas-v2-test", {TEST_MODEL: "deepaas_v2_test:TestModel"})


def query_model_dir(path: Path) -> Path:
    """``path`` holding the deepaas-query test model alone (module ``deepaas_query``; the
    directory of all the test models holds their editable install's metadata too)."""
    source = DEEPAAS_MODELS / "deepaas_testmodels" / "query.py"
    (path / "deepaas_query.py").write_bytes(source.read_bytes())
    return entry_point_dir(path, "deepaas-query", {QUERY_MODEL: "deepaas_query"})


def _predict(name: str, model: str, **request) -> dict:
    return {"name": name, "method": "POST", "path": f"/v2/models/{model}/predict/", **request}


def _get(name: str, path: str) -> dict:
    return {"name": name, "method": "GET", "path": path}


DATA_FILE = {"data": list(DATA)}
TEST_PREDICT = {"files": DATA_FILE, "form": {"parameter": "1"}}

#: The requests to DEEPaaS's test model (served alone), in order; ``files`` are (name, text).
TEST_MODEL_REQUESTS = [
    _get("versions", "/"),
    _get("v2", "/v2/"),
    _get("models", "/v2/models/"),
    _get("metadata", f"/v2/models/{TEST_MODEL}/"),
    _get("spec", "/swagger.json"),
    _predict("predict", TEST_MODEL, **TEST_PREDICT),
    _predict("predict-json", TEST_MODEL, headers={"Accept": "application/json"}, **TEST_PREDICT),
    _predict("predict-any", TEST_MODEL, headers={"Accept": "*/*"}, **TEST_PREDICT),
    _predict("predict-text", TEST_MODEL, headers={"Accept": "text/plain"}, **TEST_PREDICT),
    _predict("predict-png", TEST_MODEL, headers={"Accept": "image/png"}, **TEST_PREDICT),
    _predict("predict-query", TEST_MODEL, query={"parameter": "2"}, files=DATA_FILE),
    _predict(
        "predict-choice",
        TEST_MODEL,
        **TEST_PREDICT | {"form": {"parameter": "1", "parameter_three": "bar"}},
    ),
    _predict("predict-missing", TEST_MODEL, files=DATA_FILE),
    _predict("predict-invalid", TEST_MODEL, files=DATA_FILE, form={"parameter": "x"}),
    _predict(
        "predict-bad-choice",
        TEST_MODEL,
        **TEST_PREDICT | {"form": {"parameter": "1", "parameter_three": "baz"}},
    ),
    _predict("predict-bad-accept", TEST_MODEL, headers={"Accept": "text/csv"}, **TEST_PREDICT),
    _get("train-list-empty", f"/v2/models/{TEST_MODEL}/train/"),
    {
        "name": "train",
        "method": "POST",
        "path": f"/v2/models/{TEST_MODEL}/train/",
        "query": {"sleep": "1"},
    },
    {"name": "train-missing", "method": "POST", "path": f"/v2/models/{TEST_MODEL}/train/"},
    {"name": "train-get-done", "method": "GET", "path": "train-of:train", "after": 4},
    {"name": "train-list", "method": "GET", "path": f"/v2/models/{TEST_MODEL}/train/"},
    {
        "name": "train-long",
        "method": "POST",
        "path": f"/v2/models/{TEST_MODEL}/train/",
        "query": {"sleep": "60"},
    },
    {"name": "train-delete", "method": "DELETE", "path": "train-of:train-long", "after": 1},
    _get("train-unknown", f"/v2/models/{TEST_MODEL}/train/0123456789abcdef0123456789abcdef"),
]

QUERY_ACCEPT = {"form": {"text": "hello"}}
#: The requests to deepaas-query (served alone): ``accept`` from the query string or the form.
QUERY_MODEL_REQUESTS = [
    _predict("query-default", QUERY_MODEL, **QUERY_ACCEPT),
    _predict("query-accept", QUERY_MODEL, query={"accept": "text/plain"}, **QUERY_ACCEPT),
    _predict("form-accept", QUERY_MODEL, form={"text": "hello", "accept": "application/zip"}),
    _predict("query-accept-header", QUERY_MODEL, headers={"Accept": "text/plain"}, **QUERY_ACCEPT),
    _predict("query-accept-invalid", QUERY_MODEL, query={"accept": "image/png"}, **QUERY_ACCEPT),
]
