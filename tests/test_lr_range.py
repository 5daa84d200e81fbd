"""The LR range test's bookkeeping: the ramp, the bias-corrected smoothing computed by hand, the stated rule
on a curve with a known minimum, and the stop on divergence."""

import json
import math

import numpy as np
import pytest

from podium.lr_range import RULE, LrRange, lr_ramp


def test_the_ramp_is_exponential_between_its_ends():
    lrs = lr_ramp(1e-4, 1e-1, 4)
    assert lrs == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1])


def test_smoothing_is_a_bias_corrected_moving_average():
    tracker = LrRange(smoothing=0.5, diverge=100)
    for lr, loss in ((1e-3, 4.0), (1e-2, 2.0), (1e-1, 1.0)):
        tracker.record(lr, loss)
    # avg: 2.0, 2.0, 1.5; corrections 1 - 0.5**n: 0.5, 0.75, 0.875
    assert tracker.smoothed == pytest.approx([4.0, 2.0 / 0.75, 1.5 / 0.875])


def test_the_suggestion_is_a_tenth_of_the_lr_at_the_smoothed_minimum():
    lrs = lr_ramp(1e-5, 1.0, 51)
    tracker = LrRange(smoothing=0.0, diverge=100)  # no smoothing: the curve as given
    for lr in lrs:
        tracker.record(lr, (math.log10(lr) + 2) ** 2 + 1)  # minimum at lr = 1e-2
    result = tracker.suggestion()
    assert result["min_loss_lr"] == pytest.approx(1e-2)
    assert result["suggested_lr"] == pytest.approx(1e-3) and result["rule"] == RULE
    assert result["steepest_lr"] == pytest.approx(1e-5)  # the parabola falls fastest at its left end


def test_the_test_stops_when_the_loss_diverges_or_is_not_finite():
    tracker = LrRange(smoothing=0.0, diverge=4.0)
    assert tracker.record(1e-3, 1.0) and tracker.record(1e-2, 3.9)
    assert not tracker.record(1e-1, 4.5)
    assert not LrRange(0.0, 4.0).record(1e-3, float("nan"))
    with pytest.raises(ValueError, match="recorded 0 step.*lower lr_find.start_lr"):
        LrRange(0.9, 4.0).suggestion()


def test_the_report_holds_the_suggestion_the_current_lr_and_every_step(tmp_path):
    tracker = LrRange(smoothing=0.0, diverge=100)
    for lr in lr_ramp(1e-4, 1.0, 9):
        tracker.record(lr, abs(np.log10(lr) + 2) + 1)
    line = tracker.write(tmp_path, "a model", current_lr=0.003)
    saved = json.loads((tmp_path / "lr_find.json").read_text())
    assert saved["suggested_lr"] == pytest.approx(1e-3) and saved["current_lr"] == 0.003
    assert len(saved["history"]) == 9 and set(saved["history"][0]) == {"lr", "loss", "smoothed"}
    assert line.startswith("a model: suggested lr 0.001 (params: 0.003)")
    assert json.loads((tmp_path / "metrics.json").read_text())["suggested_lr"] == saved["suggested_lr"]
    assert (tmp_path / "lr_find.png").stat().st_size > 1000


def test_the_first_steps_of_the_moving_average_are_not_read():
    tracker = LrRange(smoothing=0.75, diverge=100)  # a 4-step window: steps 0-2 are skipped
    for lr, loss in zip(lr_ramp(1e-4, 1.0, 9), [0.5, 3.0, 3.0, 2.9, 2.8, 2.5, 2.0, 2.2, 2.6], strict=True):
        tracker.record(lr, loss)
    result = tracker.suggestion()
    assert tracker.smoothed[0] == 0.5 and result["min_loss_lr"] > 1e-3  # not the lucky first loss
