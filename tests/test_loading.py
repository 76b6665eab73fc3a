"""Discovery and validation through the real entry points of the test-model distribution."""

from __future__ import annotations

import pytest

from deepserve.loading import GROUP, discover
from deepserve.record import ModelRecord

VALID = {"echo", "instance", "module", "files", "media", "failing", "badoutput", "slow"}

REJECTED = {
    "broken-import": "import failed: ModuleNotFoundError: No module named 'tensorflow_fake'",
    "broken-nopredict": "missing or non-callable required member 'predict'",
    "broken-args": "'x' is type, not a marshmallow field",
    "broken-schema": "schema must be a marshmallow Schema or a dict of fields, got int",
    "broken-metadata": "get_metadata() must return a dict, got list",
    "broken-init": "instantiating BadInitModel failed: ValueError: weights file missing",
}


def test_valid_models_of_every_kind_are_served(discovery):
    served = {record.name for record in discovery.models}
    assert served >= VALID
    assert not served & set(REJECTED)


def test_class_instance_and_module_entry_points(discovery):
    by_name = {record.name: record for record in discovery.models}
    assert type(by_name["echo"].obj).__name__ == "EchoModel"  # a class, instantiated once
    assert type(by_name["instance"].obj).__name__ == "DoublerModel"  # an instance, as is
    assert by_name["module"].obj.__name__ == "deepserve_testmodels.module_model"


@pytest.mark.parametrize("name, reason", sorted(REJECTED.items()))
def test_each_broken_model_is_rejected_with_its_reason(discovery, name, reason):
    rejection = next(r for r in discovery.rejections if r.name == name)
    assert reason in rejection.reason
    assert name in str(rejection) and rejection.target in str(rejection)


def test_selection_loads_only_the_named_models():
    discovery = discover(["echo", "module"], groups=[GROUP])
    assert sorted(r.name for r in discovery.models) == ["echo", "module"]
    assert discovery.rejections == []


def test_selecting_a_missing_or_rejected_model_reports_it():
    discovery = discover(["echo", "nonexistent", "broken-args"], groups=[GROUP])
    assert [r.name for r in discovery.models] == ["echo"]
    reasons = {r.name: r.reason for r in discovery.rejections}
    assert reasons["nonexistent"] == "no such entry point is installed"
    assert "not a marshmallow field" in reasons["broken-args"]
    (missing,) = [r for r in discovery.rejections if r.name == "nonexistent"]
    assert missing.hint.startswith("installed models: ") and "echo" in missing.hint


def test_a_misspelt_name_gets_a_suggestion():
    (missing,) = discover(["ecoh"], groups=[GROUP]).rejections
    assert missing.hint.startswith("did you mean 'echo'? installed models: ")
    assert str(missing).endswith(f"rejected: no such entry point is installed ({missing.hint})")


def test_a_failed_import_says_where_and_keeps_the_models_traceback(discovery):
    rejection = next(r for r in discovery.rejections if r.name == "broken-import")
    assert rejection.reason.endswith("broken_import.py, line 3)")
    assert rejection.traceback.startswith("Traceback (most recent call last):")
    assert 'broken_import.py", line 3, in <module>' in rejection.traceback
    assert "importlib" not in rejection.traceback and "deepserve/" not in rejection.traceback


def test_a_declaration_error_has_no_traceback(discovery):
    rejection = next(r for r in discovery.rejections if r.name == "broken-args")
    assert rejection.traceback == ""


def test_optional_members_are_detected(discovery):
    by_name = {record.name: record for record in discovery.models}
    assert by_name["echo"].validate_args is not None
    assert by_name["failing"].validate_args is None  # BaseModel's placeholder is not "implemented"
    assert by_name["failing"].train_args is None
    assert by_name["media"].media_types[0] == "application/json"


class _Plain:
    def get_metadata(self):
        return {"name": "plain"}

    def get_predict_args(self):
        return {}

    def predict(self):
        return 1


@pytest.mark.parametrize(
    "name, change, reason",
    [
        ("bad name!", {}, "is not URL-safe"),
        ("ok", {"predict_media_types": "image/png"}, "non-empty list of media types"),
        ("ok", {"predict_media_types": ["png"]}, "'png' is not a media type"),
        ("ok", {"get_metadata": lambda: {"x": object()}}, "not JSON-serialisable"),
        ("ok", {"get_predict_args": lambda: {"x": __import__("marshmallow").fields.Int}}, "()"),
    ],
)
def test_record_validation_reasons(name, change, reason):
    model = _Plain()
    for attribute, value in change.items():
        setattr(model, attribute, value)
    with pytest.raises(ValueError, match=".*") as raised:
        ModelRecord(name, model)
    assert reason in str(raised.value)
