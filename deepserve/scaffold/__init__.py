"""``deepserve new``: a complete, installable model package from the files in ``template/``.

Each template file is a :class:`string.Template` (``${name}``, ``${package}``,
``${class_name}``); the ``package`` folder is renamed to the package's name.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from ..record import NAME_PATTERN

TEMPLATE = Path(__file__).parent / "template"


def names(name: str) -> dict[str, str]:
    """The names the template uses for the model ``name``: itself (the entry-point name, in
    URLs), its Python package and its class."""
    if not NAME_PATTERN.match(name) or not name[0].isalpha():
        raise ValueError(
            f"'{name}' cannot name a model: start with a letter; then letters, digits, '_.-'"
        )
    package = re.sub(r"[^0-9a-zA-Z]+", "_", name).lower()
    words = re.split(r"[^0-9a-zA-Z]+", name)
    class_name = "".join(word[:1].upper() + word[1:] for word in words)
    if not class_name.lower().endswith("model"):
        class_name += "Model"
    return {"name": name, "package": package, "class_name": class_name}


def create(name: str, directory: Path) -> list[Path]:
    """Write the package of model ``name`` into ``directory`` (which must not exist yet, or be
    empty) and return the files written."""
    values = names(name)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise FileExistsError(f"{directory} already exists and is not an empty directory")
    written = []
    for source in sorted(TEMPLATE.rglob("*")):
        if not source.is_file() or "__pycache__" in source.parts:
            continue
        relative = source.relative_to(TEMPLATE)
        if relative.parts[0] == "package":
            relative = Path(values["package"], *relative.parts[1:])
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(Template(source.read_text()).substitute(values))
        written.append(target)
    return written
