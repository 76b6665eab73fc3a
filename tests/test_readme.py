"""The README's model example really is a working model."""

from __future__ import annotations

import re
from pathlib import Path

from deepserve.api import create_app
from deepserve.record import ModelRecord

README = Path(__file__).parent.parent / "README.md"


def readme_model() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    return next(block for block in blocks if "class Doubler" in block)


def test_readme_example_is_short_and_serves():
    source = readme_model()
    assert len(source.strip().splitlines()) <= 16
    namespace: dict = {}
    exec(compile(source, "README.md", "exec"), namespace)
    client = create_app([ModelRecord("doubler", namespace["Doubler"]())]).test_client()
    assert client.post("/v2/models/doubler/predict/?x=21").get_json() == {
        "status": "OK",
        "predictions": {"doubled": 42.0},
    }
    assert client.post("/v2/models/doubler/predict/?x=2e7").status_code == 422
