"""``deepserve install``: install a DEEPaaS model next to deepserve without breaking it.

DEEPaaS models list DEEPaaS's own stack in their requirements (``deepaas``, ``webargs~=5.5``,
``Werkzeug<3``); installing those the normal way downgrades what deepserve runs on. This
command installs the model itself, then its other requirements, constrained by deepserve's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import click
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ..deepaas import DOCS, installed_deepaas, is_compat

#: DEEPaaS 2.x and the server stack it pins: deepserve (and its ``deepaas`` compatibility
#: package) serves the models instead, on its own versions of these.
DEEPAAS_STACK = frozenset({"deepaas", "webargs", "werkzeug", "aiohttp-apispec"})
COMPAT_SOURCE = Path(__file__).resolve().parents[2] / "compat" / "deepaas"


@click.command()
@click.option("-e", "--editable", is_flag=True, help="Install the (local) model in place.")
@click.argument("target")
def install(editable: bool, target: str) -> None:
    """Install the model TARGET (a path or requirement) and its requirements, leaving out
    DEEPaaS's stack and keeping deepserve's own requirements satisfied."""
    ensure_compat()
    with tempfile.TemporaryDirectory(prefix="deepserve-install-") as scratch:
        report = Path(scratch) / "report.json"
        pip("install", "--no-deps", "--report", str(report), *(["-e"] if editable else []), target)
        installed = json.loads(report.read_text())["install"]
        requirements = [req for item in installed for req in requirements_of(item["metadata"])]
        kept = [req for req in requirements if canonicalize_name(req.name) not in DEEPAAS_STACK]
        for req in requirements:
            if req not in kept:
                click.echo(f"left out {req}: deepserve serves DEEPaaS models on its own stack")
        if kept:
            constraints = Path(scratch) / "constraints.txt"
            constraints.write_text("\n".join(deepserve_requirements()) + "\n")
            pip("install", "--constraint", str(constraints), *map(str, kept))


def requirements_of(item_metadata: dict) -> list[Requirement]:
    """The requirements a distribution needs (its extras' left out), from pip's report."""
    requirements = [Requirement(text) for text in item_metadata.get("requires_dist", [])]
    return [req for req in requirements if req.marker is None or req.marker.evaluate({"extra": ""})]


def deepserve_requirements() -> list[str]:
    """deepserve's own requirements (its extras' left out), to constrain a model's."""
    return [str(req) for req in requirements_of({"requires_dist": metadata.requires("deepserve")})]


def ensure_compat() -> None:
    """Install deepserve's ``deepaas`` compatibility package when no ``deepaas`` is installed
    (never over a real DEEPaaS)."""
    version = installed_deepaas()
    if version is not None:
        if not is_compat(version):
            click.echo(f"DEEPaaS {version} is installed: its own 'deepaas' package is kept")
        return
    if not COMPAT_SOURCE.is_dir():
        raise click.ClickException(
            f"install deepserve's 'deepaas' compatibility package first (see {DOCS})"
        )
    pip("install", str(COMPAT_SOURCE))


def pip(*args: str) -> None:
    """Run pip in this environment; its failure is the command's."""
    click.echo("$ pip " + " ".join(args))
    if subprocess.run([sys.executable, "-m", "pip", *args]).returncode:
        raise click.ClickException(f"pip {args[0]} failed")
