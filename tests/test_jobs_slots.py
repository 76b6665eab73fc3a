"""The local supervisor's job slots per kind, and how a queued job says they are taken."""

from __future__ import annotations

import dataclasses

from deepserve.jobs import slots
from deepserve.jobs.store import KINDS, PREDICT, TRAIN


def test_predictions_have_slots_of_their_own_unless_told_to_share():
    trainings, predictions = slots.plan(2, 3)
    assert (trainings.kinds, trainings.limit) == ((TRAIN,), 2)
    assert (predictions.kinds, predictions.limit) == ((PREDICT,), 3)
    assert slots.for_kind([trainings, predictions], PREDICT) is predictions
    (shared,) = slots.plan(2, 0)
    assert (shared.kinds, shared.limit) == (KINDS, 2)
    assert slots.for_kind([shared], PREDICT) is shared


def test_slots_are_described_and_survive_their_json_document():
    trainings, predictions = slots.plan(1)
    assert trainings.describe(1) == "1 training job runs, the most at a time (--max-jobs 1)"
    assert predictions.describe(2) == (
        "2 asynchronous predictions run, the most at a time (--max-async-predictions 1)"
    )
    assert slots.plan(2, 0)[0].describe(2) == (
        "2 jobs (trainings, asynchronous predictions) run, the most at a time (--max-jobs 2)"
    )
    assert slots.Slots.load(dataclasses.asdict(predictions)) == predictions
