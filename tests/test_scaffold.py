"""``deepserve new``: the package it writes installs, passes its own test and is served."""

from __future__ import annotations

import subprocess
import sysconfig
from pathlib import Path

import pytest
from environments import child_environment

from deepserve.scaffold import names


def run(*command, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_new_package_installs_passes_its_own_test_and_is_listed(cli, tmp_path):
    created = cli("new", "my-model", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    package = tmp_path / "my-model"
    [hint] = [line for line in created.stdout.splitlines() if "without installing" in line]
    target = hint.split("without installing: deepserve run ")[1].split()[0]
    assert target == "my-model=my_model/model.py:MyModel"  # the name its README's URLs use
    assert f"`deepserve run {target} --reload`" in (package / "README.md").read_text()
    assert {p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file()} == {
        "pyproject.toml",
        "README.md",
        "my_model/__init__.py",
        "my_model/model.py",
        "tests/test_model.py",
    }
    ruff = Path(sysconfig.get_path("scripts")) / "ruff"
    run(ruff, "check", "--no-cache", ".", cwd=package)  # by the package's own rules
    run(ruff, "format", "--no-cache", "--check", ".", cwd=package)

    python = child_environment(tmp_path / "venv")
    run(python, "-m", "pip", "install", "-e", ".[test]", cwd=package)  # as its README says
    run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=package)
    listed = run(python, "-m", "deepserve", "list", "--model", "my-model", cwd=package)
    assert "my-model  ok  [deepserve.model: my_model.model:MyModel]" in listed.stdout
    as_file = run(python, "-m", "deepserve", "list", target, cwd=package)
    assert as_file.stdout.splitlines()[1].startswith("my-model  ok")


def test_new_refuses_a_used_directory_and_a_bad_name(cli, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("mine")
    used = cli("new", "taken", cwd=tmp_path)
    assert used.returncode == 1 and "already exists" in used.stderr
    assert (tmp_path / "taken" / "file").read_text() == "mine"
    bad = cli("new", "2fast", cwd=tmp_path)
    assert bad.returncode == 2 and "start with a letter" in bad.stderr
    assert not (tmp_path / "2fast").exists()


@pytest.mark.parametrize(
    "name, package, class_name",
    [
        ("iris", "iris", "IrisModel"),
        ("my-model", "my_model", "MyModel"),
        ("cell-seg.v2", "cell_seg_v2", "CellSegV2Model"),
    ],
)
def test_names(name, package, class_name):
    assert names(name) == {"name": name, "package": package, "class_name": class_name}
