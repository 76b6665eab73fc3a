"""What to say when a name matches nothing: the close names, and the names there are."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def unknown_name_hint(name: str, names: Iterable[str], what: str = "models") -> str:
    """``did you mean 'x'? `` and the list of ``names`` (``what`` they are), for a message about
    the unknown ``name``."""
    names = sorted(set(names))
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    guess = f"did you mean {' or '.join(repr(n) for n in close)}? " if close else ""
    return guess + (f"{what}: {', '.join(names)}" if names else f"no {what}")
