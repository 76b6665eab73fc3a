"""The local supervisor's job slots: how many jobs of which kinds run at the same time.

Trainings take ``--max-jobs`` slots and asynchronous predictions their own
``--max-async-predictions`` slots, so that a long training never keeps a prediction from
starting (nor a burst of predictions a training). ``--max-async-predictions 0`` puts both
kinds in the ``--max-jobs`` slots, for a machine that cannot run a prediction beside a
training (one GPU's memory).
"""

from __future__ import annotations

import dataclasses

from .store import KINDS, PREDICT, TRAIN

#: Default ``--max-async-predictions``.
MAX_ASYNC_PREDICTIONS = 1
#: What the jobs of some slots are called, one and many.
NOUNS = {
    (TRAIN,): ("training job", "training jobs"),
    (PREDICT,): ("asynchronous prediction", "asynchronous predictions"),
    KINDS: (
        "job (training or asynchronous prediction)",
        "jobs (trainings, asynchronous predictions)",
    ),
}


@dataclasses.dataclass(frozen=True)
class Slots:
    """Up to ``limit`` jobs of ``kinds`` at a time, as set by ``option``."""

    kinds: tuple[str, ...]
    limit: int
    option: str

    def describe(self, running: int) -> str:
        """``"1 training job runs, the most at a time (--max-jobs 1)"``."""
        one, many = NOUNS.get(self.kinds, NOUNS[KINDS])
        said = f"{running} {one} runs" if running == 1 else f"{running} {many} run"
        return f"{said}, the most at a time ({self.option} {self.limit})"

    @classmethod
    def load(cls, document: dict) -> Slots:
        """Slots from their JSON document (:func:`dataclasses.asdict`)."""
        return cls(tuple(document["kinds"]), document["limit"], document["option"])


def plan(max_jobs: int, max_predictions: int = MAX_ASYNC_PREDICTIONS) -> list[Slots]:
    """The slots of a supervisor: separate ones per kind, or shared (``max_predictions`` 0)."""
    if max_predictions == 0:
        return [Slots(KINDS, max_jobs, "--max-jobs")]
    return [
        Slots((TRAIN,), max_jobs, "--max-jobs"),
        Slots((PREDICT,), max_predictions, "--max-async-predictions"),
    ]


def for_kind(slots: list[Slots], kind: str) -> Slots:
    """The slots jobs of ``kind`` take."""
    return next(pool for pool in slots if kind in pool.kinds)
