"""Models named on the command line (``file.py:Class``, ``module:attr``): no packaging needed."""

from __future__ import annotations

import json
import os
import queue
import shutil
import sys
import time
from pathlib import Path

import gunicorn.reloader
import pytest
import requests

from deepserve import reloading
from deepserve.loading import GROUP, discover
from deepserve.reloading import Reloader
from deepserve.targets import GROUP as TARGETS_GROUP
from deepserve.targets import is_target, parse

TARGETS = Path(__file__).parent / "targets"
DOUBLER = f"{TARGETS}/doubler.py:Doubler"


@pytest.mark.parametrize(
    "text, name, module, attr",
    [
        ("doubler.py:Doubler", "doubler", "doubler", "Doubler"),
        ("twice=doubler.py:Doubler", "twice", "doubler", "Doubler"),
        ("doubler.py", "doubler", "doubler", ""),
        (
            "deepserve_testmodels.echo:EchoModel",
            "echomodel",
            "deepserve_testmodels.echo",
            "EchoModel",
        ),
    ],
)
def test_parse_names_and_locations(text, name, module, attr):
    target = parse(text)
    assert (target.name, target.module, target.attr) == (name, module, attr)
    assert parse(target.text) == target  # as handed to other processes


def test_a_file_target_is_absolute_and_an_installed_name_is_not_a_target():
    assert parse("doubler.py:Doubler").file == Path.cwd() / "doubler.py"
    assert parse("deepserve_testmodels.echo:EchoModel").file is None
    assert not is_target("echo") and is_target("x.py") and is_target("a.b:C")


@pytest.mark.parametrize(
    "text, problem",
    [
        ("echo", "is not a model target"),
        ("my-model.py:Model", "'my-model' is not an importable module name"),
        ("model.py:not-a-name", "'not-a-name' is not a Python name"),
        ("bad name!=model.py:Model", "is not URL-safe"),
    ],
)
def test_parse_rejects_what_cannot_be_a_target(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse(text)


def test_file_and_module_targets_are_served_beside_the_entry_points():
    targets = [
        parse(DOUBLER),
        parse(f"{TARGETS}/doubler.py:Halver"),
        parse("deepserve_testmodels.echo:EchoModel"),
    ]
    discovery = discover(["echo"], groups=[GROUP], targets=targets)
    served = {record.name: record for record in discovery.models}
    assert sorted(served) == ["doubler", "echo", "echomodel", "halver"]
    assert served["doubler"].obj.predict(x=3) == {"result": 6}  # its neighbour factor.py
    assert served["doubler"].group == TARGETS_GROUP


def test_a_target_wins_a_name_clash_with_an_entry_point():
    discovery = discover(["echo"], groups=[GROUP], targets=[parse(f"echo={DOUBLER}")])
    assert [record.target for record in discovery.models] == [parse(DOUBLER).value]
    (clash,) = discovery.rejections
    assert clash.reason == "a model of this name given on the command line wins"
    assert discovery.failures == []


def test_a_target_that_fails_to_import_says_where():
    discovery = discover(groups=(), targets=[parse(f"{TARGETS}/typo.py:Typo")])
    (rejection,) = discovery.failures
    typo = str(TARGETS / "typo.py")
    assert rejection.reason == (
        f"import failed: NameError: name 'undefined_name' is not defined ({typo}, line 10)"
    )
    assert f'File "{typo}", line 10' in rejection.traceback
    assert "deepserve/" not in rejection.traceback  # only the model's own frames
    assert rejection.group == TARGETS_GROUP


def test_a_missing_file_is_named(tmp_path):
    (rejection,) = discover(groups=(), targets=[parse(f"{tmp_path}/dubler.py:Doubler")]).failures
    assert rejection.reason.startswith(
        f"import failed: FileNotFoundError: no such file: {tmp_path}/dubler.py"
    )


def test_a_file_shadowed_by_an_installed_module_is_refused(tmp_path):
    shadow = tmp_path / "json.py"
    shadow.write_text("class Model: ...\n")
    (rejection,) = discover(groups=(), targets=[parse(f"{shadow}:Model")]).failures
    assert f"module 'json' is {json.__file__}, not {shadow}: rename the file" in rejection.reason
    assert str(tmp_path) not in sys.path  # nothing imported later in this process finds it


def test_list_and_predict_take_targets(cli):
    listed = cli("list", DOUBLER, "--json")
    assert listed.returncode == 0, listed.stdout  # only the target: the broken models are not
    (row,) = json.loads(listed.stdout)
    assert row == {
        "name": "doubler",
        "status": "ok",
        "target": parse(DOUBLER).value,
        "group": TARGETS_GROUP,
    }
    predicted = cli("predict", DOUBLER, "--x", "21")
    assert predicted.returncode == 0, predicted.stderr
    assert json.loads(predicted.stdout) == {"status": "OK", "predictions": {"result": 42.0}}
    spec = json.loads(cli("openapi", DOUBLER, "--model", "echo").stdout)
    assert {"/v2/models/doubler/predict/", "/v2/models/echo/predict/"} <= set(spec["paths"])


def test_list_of_targets_and_selected_models(cli):
    listed = cli("list", f"{TARGETS}/typo.py:Typo", "--model", "echo", "--no-deepaas", "--json")
    assert listed.returncode == 1
    assert [(row["name"], row["status"][:8]) for row in json.loads(listed.stdout)] == [
        ("echo", "ok"),
        ("typo", "rejected"),
    ]


def test_a_bad_target_is_a_usage_error(cli):
    result = cli("list", "my-model.py:Model")
    assert result.returncode == 2 and "not an importable module name" in result.stderr


def test_run_refuses_a_rejected_target(cli):
    result = cli("run", f"{TARGETS}/typo.py:Typo", "--model", "echo", "--port", "1")
    assert result.returncode == 1
    assert "model 'typo' (command line:" in result.stderr and "line 10" in result.stderr


def predict(server, name: str, x: float) -> requests.Response:
    return requests.post(f"{server.url}/v2/models/{name}/predict/", json={"x": x}, timeout=10)


@pytest.mark.e2e
def test_run_a_file_with_reload_follows_its_edits(run_server, tmp_path, wait):
    for name in ("doubler.py", "factor.py"):
        shutil.copy(TARGETS / name, tmp_path / name)
    server = run_server(f"{tmp_path}/doubler.py:Doubler", "--model", "echo", "--reload")
    assert predict(server, "doubler", 2).json()["predictions"] == {"result": 4.0}
    assert requests.post(f"{server.url}/v2/models/echo/predict/?text=a", timeout=10).ok

    (tmp_path / "factor.py").write_text("FACTOR = 3\n")  # a neighbour the model imports
    wait(lambda: predict(server, "doubler", 2).json().get("predictions") == {"result": 6.0})

    source = (tmp_path / "doubler.py").read_text()
    (tmp_path / "doubler.py").write_text(source.replace("import FACTOR", "import FACTORY"))
    broken = wait(lambda: (r := predict(server, "doubler", 2)).status_code == 503 and r.json())
    assert "ImportError: cannot import name 'FACTORY'" in broken["reason"]
    ready = requests.get(server.url + "/v2/health/ready", timeout=10).json()
    assert "FACTORY" in ready["rejected"]["doubler"] and ready["models"] == {"echo": True}

    (tmp_path / "doubler.py").write_text(source)  # fixed: served again
    wait(lambda: predict(server, "doubler", 2).json().get("predictions") == {"result": 6.0})
    assert "Worker reloading" in server.output()


@pytest.fixture
def watched(tmp_path):
    """``model.py`` in ``tmp_path``, a started :class:`Reloader` watching it, and the queue its
    callback puts the changed files in."""
    model = tmp_path / "model.py"
    model.write_text("A = 1\n")
    changed: queue.Queue[str] = queue.Queue()
    gunicorns = gunicorn.reloader.ReloaderBase(extra_files=[str(model)], callback=changed.put)
    reloader = Reloader(gunicorns)
    reloader.start()
    yield model, changed
    reloader.stop()
    reloader.join(10)
    assert not reloader.is_alive()


def test_the_reloader_is_told_of_edits_by_the_os_and_only_of_watched_files(watched, tmp_path):
    model, changed = watched
    time.sleep(reloading.WATCH_STARTED_MS / 1000 * 2)
    (tmp_path / "notes.txt").write_text("not a watched file")
    with pytest.raises(queue.Empty):
        changed.get(timeout=0.5)
    model.write_text("A = 2\n")
    assert changed.get(timeout=10) == str(model)


def test_an_edit_made_while_the_watch_begins_counts(watched):
    model, changed = watched
    past = model.stat().st_mtime + 1  # saved right away, at start, likely before the watch
    os.utime(model, (past, past))
    assert changed.get(timeout=10) == str(model)


@pytest.mark.e2e
def test_a_target_model_trains_as_a_job(run_server, tmp_path, wait):
    """The job process finds the model through the targets of the server that queued it."""
    target = "coach=deepserve_testmodels.trainer:TrainerModel"
    server = run_server(target, "--model", "echo", "--data-dir", str(tmp_path))
    created = requests.post(f"{server.url}/v2/models/coach/train/", json={"label": "t"}, timeout=10)
    assert created.status_code == 202, created.text
    url = f"{server.url}/v2/models/coach/train/{created.json()['id']}"

    def finished():
        job = requests.get(url, timeout=10).json()
        return job["status"] in ("done", "error") and job

    job = wait(finished, timeout=60)
    assert (job["status"], job["result"]["label"]) == ("done", "t"), job
