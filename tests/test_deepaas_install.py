"""``deepserve install``: a DEEPaaS model whose requirements pin DEEPaaS's stack installs next to
deepserve, by the command docs/deepaas.md gives, and serves.

The model (``tests/deepaas_pinned``) goes into a child environment of the test venv (whose
packages it sees, and never changes): what pip installs lands in the child. The child does not
see the test venv's compatibility ``deepaas`` nor what it brings along, so ``deepserve install``
has to install them, as on a plain deepserve install.
"""

from __future__ import annotations

import importlib.metadata
import io
import subprocess
from pathlib import Path

import pytest
import requests
from environments import child_environment

from deepserve.cli.install import DEEPAAS_STACK, deepserve_requirements, requirements_of

PINNED = Path(__file__).parent / "deepaas_pinned"
IMAGE = b"\x89PNG\r\n\x1a\n pixels"


def site_packages(venv: Path) -> Path:
    [path] = venv.glob("lib/python*/site-packages")
    return path


def deepserve_command(python: Path) -> Path:
    """A ``deepserve`` command next to ``python``, running that environment's deepserve."""
    command = python.parent / "deepserve"
    command.write_text(f"#!{python}\nfrom deepserve.cli import main\nmain()\n")
    command.chmod(0o755)
    return command


def test_requirements_left_out_and_constraints():
    item = {
        "requires_dist": [
            "deepaas>=2.1.0",
            "webargs~=5.5.3",
            "marshmallow<4",
            "pytest; extra == 'test'",
        ]
    }
    requirements = requirements_of(item)
    assert [str(r) for r in requirements] == ["deepaas>=2.1.0", "webargs~=5.5.3", "marshmallow<4"]
    assert [r.name for r in requirements if r.name.lower() not in DEEPAAS_STACK] == ["marshmallow"]
    constraints = deepserve_requirements()
    assert "webargs>=8.4" in constraints and not any("pytest" in c for c in constraints)


@pytest.mark.e2e
def test_a_model_pinning_old_webargs_installs_and_serves(tmp_path, run_server):
    brought = ("deepaas", "aiohttp", "oslo.log", "oslo.config")
    python = child_environment(tmp_path / "venv", hidden=brought)
    deepserve = deepserve_command(python)
    assert subprocess.run([str(python), "-c", "import deepaas"]).returncode == 1  # not seen
    installed = subprocess.run(
        [str(deepserve), "install", "-e", str(PINNED)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "left out webargs~=5.5.3" in installed.stdout
    versions = subprocess.run(
        [str(python), "-c",
         "import importlib.metadata as m; print(m.version('webargs'), m.version('marshmallow'))"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert versions[0].startswith("8.") and versions[1].startswith("3.")  # kept; chosen
    child = tmp_path / "venv"
    for name in brought:  # in the child's own site-packages, not the test venv's
        found = importlib.metadata.distributions(name=name, path=[str(site_packages(child))])
        assert next(found, None) is not None, f"{name} was not installed"
    compat = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('deepaas'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert compat.endswith("+deepserve")

    server = run_server("--model", "deepaas-pinned", program=deepserve)
    url = server.url + "/v2/models/deepaas-pinned/predict/"
    files = {"image": ("cat.png", io.BytesIO(IMAGE), "image/png")}
    labelled = requests.post(url, files=files, timeout=30)
    assert labelled.status_code == 200, labelled.text
    assert labelled.json() == {"label": "cat", "threshold": 0.5, "original_filename": "cat.png"}
    files = {"image": ("cat.png", io.BytesIO(IMAGE), "image/png")}
    image = requests.post(url, files=files, headers={"Accept": "image/*"}, timeout=30)
    # the upload's temporary name tells no image type: the range, as DEEPaaS answers it
    assert (image.headers["Content-Type"], image.content) == ("image/*", IMAGE)
