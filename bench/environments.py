"""The virtual environments the benchmark serves from, created under ``bench/.venvs/``.

deepserve (this checkout, editable) and the bare Flask app share one environment, so they run the
same Flask, Werkzeug and gunicorn; DEEPaaS gets its own (it pins older Werkzeug and webargs).
Both hold the benchmark's models (``bench/models``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
MODELS = BENCH / "models"
VENVS = BENCH / ".venvs"
DEEPAAS_VERSION = "2.6.0"


class Environment:
    """A virtual environment and the requirements installed in it."""

    def __init__(self, name: str, requirements: list[str], watched: list[Path]) -> None:
        self.path = VENVS / name
        self.requirements = requirements
        self.watched = watched  # files whose change means re-installing

    def bin(self, program: str) -> str:
        return str(self.path / "bin" / program)

    def prepare(self) -> Environment:
        """Create the environment and install the requirements, unless already done."""
        stamp = self.path / ".installed"
        wanted = json.dumps([self.requirements, [p.stat().st_mtime for p in self.watched]])
        if stamp.exists() and stamp.read_text() == wanted:
            return self
        print(f"preparing {self.path} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(self.path)], check=True)
        pip = [self.bin("python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, *self.requirements], check=True)
        stamp.write_text(wanted)
        return self

    def versions(self, *packages: str) -> dict[str, str]:
        """The installed version of each of ``packages``."""
        code = (
            "import importlib.metadata as m, json, sys;"
            "print(json.dumps({p: m.version(p) for p in sys.argv[1:]}))"
        )
        output = subprocess.run(
            [self.bin("python"), "-c", code, *packages], check=True, capture_output=True, text=True
        ).stdout
        return json.loads(output)


def deepserve_environment() -> Environment:
    """deepserve from this checkout, its dependencies (Flask, gunicorn) and the models."""
    return Environment(
        "deepserve",
        ["-e", str(ROOT), "-e", str(MODELS)],
        [ROOT / "setup.cfg", MODELS / "setup.cfg"],
    )


def deepaas_environment() -> Environment:
    """DEEPaaS from PyPI and the models."""
    return Environment(
        "deepaas", [f"deepaas=={DEEPAAS_VERSION}", "-e", str(MODELS)], [MODELS / "setup.cfg"]
    )
