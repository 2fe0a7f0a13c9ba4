"""The training ETA, on synthetic timings: measured batch time x batches left, plus the later stages at the
measured encode rate; honest (within 25%) from the end of the first epoch on."""

from __future__ import annotations

import itertools

import pytest

from ml.pipeline import (
    PRIOR_BATCHES,
    REFERENCE_LOAD_IN_ENCODES,
    TRAIN_STEP_COST_IN_ENCODES,
    WRITE_COST_IN_ENCODES,
    MeasuredTimings,
    RunShape,
    _Progress,
    estimate_remaining_seconds,
)
from ml.training import TrainingStep

# 1,000 training tickets in 16 batches of 62.5; an encode at 4 ms makes a batch cost 0.825 s by the prior.
SHAPE = RunShape(mode="classifier", train=1000, heldout=150, unlabelled=50, epochs=3, batches_per_epoch=16)
ENCODE = 0.004
PRIOR_BATCH = TRAIN_STEP_COST_IN_ENCODES * 62.5 * ENCODE


def _tail(per_ticket: float, shape: RunShape = SHAPE) -> float:
    return (shape.heldout + shape.train + shape.unlabelled + WRITE_COST_IN_ENCODES) * per_ticket


def test_there_is_no_eta_before_an_encode_is_timed():
    assert estimate_remaining_seconds(SHAPE, MeasuredTimings(), "preparing", 1.0) is None
    assert estimate_remaining_seconds(SHAPE, MeasuredTimings(), "encoding", 3.0) is None


def test_before_the_first_batch_training_is_priced_from_the_timed_encodes():
    measured = MeasuredTimings(encode_seconds_per_ticket=ENCODE)
    assert estimate_remaining_seconds(SHAPE, measured, "training", 0.5) == pytest.approx(
        48 * PRIOR_BATCH + _tail(ENCODE))


def test_training_left_is_batches_left_times_the_timed_batch_time_and_the_tail_runs_at_that_speed():
    measured = MeasuredTimings(encode_seconds_per_ticket=ENCODE, batch_seconds=(1.65,) * 16)
    now = 1.65 / (TRAIN_STEP_COST_IN_ENCODES * 62.5)  # the machine is twice as slow as when it encoded
    assert estimate_remaining_seconds(SHAPE, measured, "training", 26.4) == pytest.approx(32 * 1.65 + _tail(now))


def test_a_slow_first_batch_is_left_out_and_the_first_few_are_topped_up_with_the_prior():
    warm_up_first = MeasuredTimings(encode_seconds_per_ticket=ENCODE, batch_seconds=(9.0, 1.0))
    expected_batch = (1.0 + (PRIOR_BATCHES - 1) * PRIOR_BATCH) / PRIOR_BATCHES
    remaining = estimate_remaining_seconds(SHAPE, warm_up_first, "training", 10.0)
    tail = _tail(expected_batch / (TRAIN_STEP_COST_IN_ENCODES * 62.5))
    assert remaining == pytest.approx(46 * expected_batch + tail)


def test_the_batch_time_follows_the_last_epoch_when_the_machine_slows_down():
    slower = MeasuredTimings(encode_seconds_per_ticket=ENCODE, batch_seconds=(1.0,) * 17 + (2.0,) * 16)
    remaining = estimate_remaining_seconds(SHAPE, slower, "training", 50.0)
    assert remaining == pytest.approx(15 * 2.0 + _tail(2.0 / (TRAIN_STEP_COST_IN_ENCODES * 62.5)))


def test_after_evaluating_the_tail_runs_at_the_speed_the_evaluation_was_timed_at():
    measured = MeasuredTimings(encode_seconds_per_ticket=ENCODE, batch_seconds=(1.0,) * 48,
                               evaluation_seconds_per_ticket=0.003)
    writing = WRITE_COST_IN_ENCODES * 0.003
    assert estimate_remaining_seconds(SHAPE, measured, "indexing", 0.0) == pytest.approx(50 * 0.003 + writing)
    assert estimate_remaining_seconds(SHAPE, measured, "writing", 1.0) == pytest.approx(writing - 1.0)
    assert estimate_remaining_seconds(SHAPE, measured, "writing", 60.0) == 0.0
    assert estimate_remaining_seconds(SHAPE, measured, "done", 0.0) == 0.0


def test_scoring_against_the_active_version_adds_its_load_and_its_encodes():
    measured = MeasuredTimings(encode_seconds_per_ticket=ENCODE, evaluation_seconds_per_ticket=ENCODE)
    with_reference = RunShape(**{**SHAPE.__dict__, "with_reference": True})
    added = (estimate_remaining_seconds(with_reference, measured, "evaluating", 0.0)
             - estimate_remaining_seconds(SHAPE, measured, "evaluating", 0.0))
    assert added == pytest.approx((150 + REFERENCE_LOAD_IN_ENCODES) * ENCODE)


def test_a_retrieval_only_run_has_an_eta_once_its_indexing_timed_the_encodes():
    shape = RunShape(mode="retrieval_only", train=500, heldout=0, unlabelled=0, epochs=0, batches_per_epoch=0)
    assert estimate_remaining_seconds(shape, MeasuredTimings(), "indexing", 1.0) is None
    measured = MeasuredTimings(encode_seconds_per_ticket=ENCODE)
    assert estimate_remaining_seconds(shape, measured, "writing", 0.5) == pytest.approx(
        WRITE_COST_IN_ENCODES * ENCODE - 0.5)


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _simulate(stage_seconds: dict[str, float], batch_seconds: list[list[float]], shape: RunShape):
    """Drive the pipeline's progress reporter through a run with these timings; (time, update) per save."""
    clock, saves = _Clock(), []
    progress = _Progress(shape, lambda update: saves.append((clock.now, update)), clock=clock)
    for stage in ("preparing", "encoding"):
        progress.stage(stage, stage)
        clock.now += stage_seconds[stage]
    progress.stage("training", "training")
    clock.now += stage_seconds["probe"]
    for epoch, epoch_batches in enumerate(batch_seconds, start=1):
        for batch, seconds in enumerate(epoch_batches, start=1):
            clock.now += seconds
            progress.step(TrainingStep(epoch, shape.epochs, batch, shape.batches_per_epoch, 0.5, seconds),
                          f"epoch {epoch}/{shape.epochs}, batch {batch}/{shape.batches_per_epoch}")
    for stage in ("calibrating", "evaluating", "indexing", "writing"):
        progress.stage(stage, stage)
        clock.now += stage_seconds[stage]
    progress.finish("done")
    return saves, clock.now


@pytest.mark.parametrize("slowdown", [1.0, 2.0], ids=["steady", "a-core-taken-after-encoding"])
def test_a_realistic_run_is_within_a_quarter_of_the_truth_from_the_end_of_the_first_epoch(slowdown):
    # Timings of 3,000 Bitext tickets on this project's 2 cores (`bench/train.py eta`, and the batches and
    # encodes timed back to back): 2.35 ms an encode, 0.18-0.8 s a batch of 64, a slower first batch.
    # Slowed: from training on, another process takes a core (the web process answering, another job).
    shape = RunShape(mode="classifier", train=2550, heldout=450, unlabelled=0, epochs=3, batches_per_epoch=40)
    lengths = [0.18 + 0.025 * (i % 25) for i in range(40)]
    epochs = [[0.75] + lengths[1:], lengths[::-1], lengths[7:] + lengths[:7]]
    epochs = [[seconds * slowdown for seconds in epoch] for epoch in epochs]
    stages = {"preparing": 2.1, "encoding": 6.0, "probe": 0.3 * slowdown, "calibrating": 1.1 * slowdown,
              "evaluating": 6.5 * slowdown, "indexing": 0.0, "writing": 2.6 * slowdown}
    saves, end = _simulate(stages, epochs, shape)

    epoch_one_end = next(i for i, (_, u) in enumerate(saves) if u.message == "epoch 1/3, batch 40/40")
    for at, update in saves[epoch_one_end:]:
        truth = end - at
        if update.stage != "done" and truth > 5.0:
            assert update.eta_seconds == pytest.approx(truth, rel=0.25), (update, truth)
    percents = [update.percent for _, update in saves]
    assert percents == sorted(percents) and percents[-1] == 100.0
    assert all(update.eta_seconds is None for _, update in saves[:2]), "nothing is timed while preparing"


def test_progress_saves_are_rate_limited_but_every_epoch_end_and_stage_is_sent():
    shape = RunShape(mode="classifier", train=640, heldout=100, unlabelled=0, epochs=2, batches_per_epoch=10)
    stages = dict.fromkeys(("preparing", "encoding", "probe", "calibrating", "evaluating", "indexing", "writing"),
                           1.0)
    saves, _ = _simulate(stages, [[0.1] * 10, [0.1] * 10], shape)
    messages = [update.message for _, update in saves]
    assert "epoch 1/2, batch 10/10" in messages and "epoch 2/2, batch 10/10" in messages
    assert sum(1 for m in messages if m.startswith("epoch")) < 20
    stage_order = list(dict.fromkeys(update.stage for _, update in saves))
    assert stage_order == ["preparing", "encoding", "training", "calibrating", "evaluating", "indexing", "writing",
                           "done"]
    assert list(itertools.islice(messages, 1)) == ["preparing"]
