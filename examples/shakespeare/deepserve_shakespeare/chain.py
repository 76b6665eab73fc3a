"""A word-level Markov chain: the next token drawn from those that followed the last ones."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Iterator

#: The state in which speeches begin (after a blank line).
START = ("\n", "\n")


class MarkovChain:
    """Which tokens followed each run of ``order`` tokens in a text, as often as they did."""

    def __init__(self, tokens: Iterable[str], order: int = 2) -> None:
        self.order = order
        text = [*START[-order:], *tokens]
        followers: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for run in zip(*(text[shift:] for shift in range(order + 1)), strict=False):
            followers[run[:-1]].append(run[-1])
        self.followers = dict(followers)
        ending: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for known in self.followers:
            ending[known[-1]].append(known)
        self.ending = dict(ending)  # the states ending with each token, in the text's order

    def generate(self, prompt: list[str], rng: random.Random) -> Iterator[str]:
        """Tokens continuing ``prompt`` (its last known tokens), without end."""
        state = self.start(prompt, rng)
        while True:
            choices = self.followers.get(state)
            if choices is None:  # the end of the text: start a new speech
                state = START[-self.order :]
                choices = self.followers[state]
            token = rng.choice(choices)
            yield token
            state = (*state[1:], token)

    def start(self, prompt: list[str], rng: random.Random) -> tuple[str, ...]:
        """The state to continue ``prompt`` from: its last tokens when the text has them, else
        a state ending with its last token, else the start of a speech."""
        state = tuple(prompt[-self.order :])
        if len(state) == self.order and state in self.followers:
            return state
        if prompt and prompt[-1] in self.ending:
            return rng.choice(self.ending[prompt[-1]])
        return START[-self.order :]
