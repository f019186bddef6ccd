"""Sweep-level analysis checked against hand computations (numbers worked out in comments)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raysweep.analysis.curves import (
    Curve,
    ReportError,
    area_under_curve,
    group_by_strategy,
    labels_to_reach,
    mean_curve_with_ci,
)
from raysweep.analysis.efficiency import (
    EFFICIENCY_COLUMNS,
    label_efficiency,
    label_efficiency_table,
)
from raysweep.analysis.intervals import mean_ci, ratio_ci
from raysweep.analysis.plots import plot_learning_curves, plot_trial_curve
from raysweep.analysis.table_text import format_table

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STEPS = np.array([20, 40, 60, 80, 100])


def curve(strategy: str, seed: int, values: list[float], labels: np.ndarray = STEPS) -> Curve:
    return Curve(strategy, seed, np.asarray(labels), np.asarray(values, dtype=float))


# --- labels_to_reach: hand-worked interpolation -------------------------------------------


def test_target_between_two_points_is_interpolated() -> None:
    # 0.7 lies halfway between 0.6 (at 20) and 0.8 (at 30): 20 + 0.5 * 10 = 25.
    assert labels_to_reach(np.array([10, 20, 30]), np.array([0.2, 0.6, 0.8]), 0.7) == pytest.approx(
        25.0
    )


def test_target_exactly_at_a_point() -> None:
    assert labels_to_reach(np.array([10, 20, 30]), np.array([0.2, 0.6, 0.8]), 0.6) == 20.0


def test_target_reached_at_first_point_is_not_extrapolated() -> None:
    assert labels_to_reach(np.array([10, 20, 30]), np.array([0.2, 0.6, 0.8]), 0.1) == 10.0


def test_never_reached_is_none() -> None:
    assert labels_to_reach(np.array([10, 20, 30]), np.array([0.2, 0.6, 0.8]), 0.81) is None


def test_first_crossing_of_a_non_monotone_curve() -> None:
    # Crosses 0.7 first between 10 (0.5) and 20 (0.9): 10 + (0.2 / 0.4) * 10 = 15,
    # although it dips back below 0.7 at 30.
    got = labels_to_reach(np.array([10, 20, 30, 40]), np.array([0.5, 0.9, 0.4, 0.95]), 0.7)
    assert got == pytest.approx(15.0)


def test_lower_is_better_metric() -> None:
    # A loss falling from 1.0 (at 10) to 0.5 (at 20) hits 0.8 at 10 + (0.2 / 0.5) * 10 = 14.
    got = labels_to_reach(np.array([10, 20]), np.array([1.0, 0.5]), 0.8, higher_is_better=False)
    assert got == pytest.approx(14.0)


def test_malformed_curve_is_rejected() -> None:
    with pytest.raises(ReportError, match="strictly increasing"):
        labels_to_reach(np.array([10, 10, 30]), np.array([0.1, 0.2, 0.3]), 0.2)
    with pytest.raises(ReportError, match="differ in length"):
        labels_to_reach(np.array([10, 20]), np.array([0.1, 0.2, 0.3]), 0.2)
    with pytest.raises(ReportError, match="finite"):
        labels_to_reach(np.array([10, 20]), np.array([0.1, np.nan]), 0.2)


@st.composite
def curves_and_target(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float]:
    labels = sorted(draw(st.sets(st.integers(1, 10_000), min_size=1, max_size=12)))
    values = draw(
        st.lists(
            st.floats(0.0, 1.0, allow_nan=False),
            min_size=len(labels),
            max_size=len(labels),
        )
    )
    target = draw(st.floats(0.0, 1.0, allow_nan=False))
    return np.array(labels), np.array(values), target


@settings(max_examples=200, deadline=None)
@given(curves_and_target())
def test_labels_to_reach_invariants(case: tuple[np.ndarray, np.ndarray, float]) -> None:
    labels, values, target = case
    got = labels_to_reach(labels, values, target)
    if got is None:
        assert values.max() < target
        return
    assert labels[0] <= got <= labels[-1]
    if values[0] >= target:
        assert got == labels[0]  # reached at the first evaluation: no extrapolation
    else:
        # On the interpolated curve the crossing point has exactly the target value ...
        assert float(np.interp(got, labels, values)) == pytest.approx(target, abs=1e-9)
    # ... and no earlier evaluation point had reached it.
    assert np.all(values[labels < got] < target)


# --- area under the curve ------------------------------------------------------------------


def test_auc_of_constant_curve_is_the_constant() -> None:
    assert area_under_curve(np.array([10, 50, 100]), np.array([0.7, 0.7, 0.7])) == pytest.approx(
        0.7
    )


def test_auc_of_linear_curve_is_its_midpoint_value() -> None:
    # y = x / 100 from 20 to 100: mean value (0.2 + 1.0) / 2 = 0.6.
    assert area_under_curve(np.array([20, 60, 100]), np.array([0.2, 0.6, 1.0])) == pytest.approx(
        0.6
    )


def test_auc_of_uneven_steps_by_hand() -> None:
    # Trapezoids: (0 + 1) / 2 * 10 = 5 and (1 + 1) / 2 * 20 = 20; area 25 over span 30.
    assert area_under_curve(np.array([10, 20, 40]), np.array([0.0, 1.0, 1.0])) == pytest.approx(
        25 / 30
    )


def test_auc_of_single_point_is_its_value() -> None:
    assert area_under_curve(np.array([40]), np.array([0.3])) == pytest.approx(0.3)


@settings(max_examples=100, deadline=None)
@given(
    st.sets(st.integers(1, 5000), min_size=2, max_size=10),
    st.floats(-1, 1, allow_nan=False),
    st.floats(-1e-3, 1e-3, allow_nan=False),
)
def test_auc_of_any_line_is_value_at_mid_span(labels: set[int], a: float, b: float) -> None:
    x = np.array(sorted(labels), dtype=float)
    y = a + b * x
    assert area_under_curve(x, y) == pytest.approx(a + b * (x[0] + x[-1]) / 2, abs=1e-9)


# --- confidence intervals -------------------------------------------------------------------


# Student's t quantile t(0.975, 2 degrees of freedom), from a printed table: 4.303 (to 3 places)
T_975_2DF = 4.302652729911275


def test_t_ci_with_three_seeds_by_hand() -> None:
    # Values 0.6, 0.7, 0.8: mean 0.7; sample sd = sqrt((0.01 + 0 + 0.01) / 2) = 0.1;
    # half-width t(0.975, 2) * 0.1 / sqrt(3) = 4.3027 * 0.057735 = 0.248414
    mean, lo, hi = mean_ci([0.6, 0.7, 0.8])
    assert pytest.approx(4.303, abs=5e-4) == T_975_2DF
    assert mean == pytest.approx(0.7)
    assert lo == pytest.approx(0.7 - 0.248414, abs=1e-6)
    assert hi == pytest.approx(0.7 + 0.248414, abs=1e-6)


def test_ci_is_clipped_to_the_metric_range() -> None:
    # 0.9, 1.0, 1.0: mean 0.96667, sd 0.057735, half 4.3027 * 0.057735 / sqrt(3) = 0.143422
    mean, lo, hi = mean_ci([0.9, 1.0, 1.0], bounds=(0.0, 1.0))
    assert mean == pytest.approx(0.966667, abs=1e-6)
    assert lo == pytest.approx(0.966667 - 0.143422, abs=1e-6)
    assert hi == 1.0  # 1.11 unclipped: an accuracy above 1 is not a possible value
    _, lo_free, hi_free = mean_ci([0.9, 1.0, 1.0])
    assert hi_free > 1.0 and lo_free == pytest.approx(lo)


def test_ratio_ci_is_log_scale_by_hand() -> None:
    # ln 5, ln(10/3), ln 2 = 1.609438, 1.203973, 0.693147: mean 1.168853, sd 0.459154;
    # half-width 4.3027 * 0.459154 / sqrt(3) = 1.140605 -> exp(1.168853 -/+ 1.140605)
    ratio, lo, hi = ratio_ci([5.0, 10 / 3, 2.0])
    assert ratio == pytest.approx((100 / 3) ** (1 / 3))  # the geometric mean, 3.2183
    assert lo == pytest.approx(math.exp(0.028248), abs=1e-5)
    assert hi == pytest.approx(math.exp(2.309458), abs=1e-4)
    assert lo > 0  # a Gaussian interval on the ratios themselves would go to -0.25


def test_ci_of_one_seed_is_undefined() -> None:
    mean, lo, hi = mean_ci([0.4])
    assert mean == 0.4
    assert math.isnan(lo) and math.isnan(hi)


def test_mean_curve_with_ci_pointwise_by_hand() -> None:
    curves = [
        curve("entropy", 0, [0.6, 0.5, 0.9, 0.9, 0.9]),
        curve("entropy", 1, [0.7, 0.5, 0.9, 0.9, 0.9]),
        curve("entropy", 2, [0.8, 0.5, 0.9, 0.9, 0.9]),
    ]
    labels, mean, lo, hi = mean_curve_with_ci(curves)
    assert labels.tolist() == STEPS.tolist()
    assert mean[0] == pytest.approx(0.7)
    assert hi[0] - mean[0] == pytest.approx(0.248414, abs=1e-6)
    assert mean[0] - lo[0] == pytest.approx(0.248414, abs=1e-6)
    # Identical seeds at 40 labels: zero-width band.
    assert lo[1] == pytest.approx(0.5) and hi[1] == pytest.approx(0.5)


def test_mean_curve_rejects_mismatched_label_steps() -> None:
    a = curve("entropy", 0, [0.1, 0.2, 0.3, 0.4, 0.5])
    b = curve("entropy", 1, [0.1, 0.2, 0.3, 0.4], labels=np.array([20, 40, 60, 80]))
    with pytest.raises(ReportError, match="share label steps"):
        mean_curve_with_ci([a, b])


def test_mean_curve_rejects_duplicate_seeds() -> None:
    a = curve("entropy", 0, [0.1, 0.2, 0.3, 0.4, 0.5])
    with pytest.raises(ReportError, match="duplicate seeds"):
        mean_curve_with_ci([a, a])


def test_curve_rejects_non_positive_labels() -> None:
    with pytest.raises(ReportError, match="positive"):
        curve("random", 0, [0.1, 0.2], labels=np.array([0, 10]))


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(0, 1, allow_nan=False), min_size=5, max_size=5),
        min_size=2,
        max_size=6,
    )
)
def test_mean_curve_band_contains_mean(rows: list[list[float]]) -> None:
    curves = [curve("s", i, r) for i, r in enumerate(rows)]
    _, mean, lo, hi = mean_curve_with_ci(curves)
    values = np.array(rows)
    assert np.all(lo <= mean + 1e-12) and np.all(mean <= hi + 1e-12)
    assert np.all(mean >= values.min(axis=0) - 1e-12)
    assert np.all(mean <= values.max(axis=0) + 1e-12)


# --- label efficiency -----------------------------------------------------------------------

# Random: two seeds around the mean curve 0.4, 0.5, 0.6, 0.7, 0.8 -> target 0.8, reached at 100.
RANDOM = [
    curve("random", 0, [0.45, 0.55, 0.65, 0.75, 0.85]),
    curve("random", 1, [0.35, 0.45, 0.55, 0.65, 0.75]),
]
# Entropy, three seeds reaching 0.8 at:
#   seed 0: 20 (first point)                     -> ratio 100 / 20 = 5
#   seed 1: 20 + (0.1 / 0.2) * 20 = 30           -> ratio 10 / 3
#   seed 2: 40 + (0.1 / 0.2) * 20 = 50           -> ratio 2
# geometric mean ratio (100 / 3) ** (1 / 3); its log-scale interval: see test_ratio_ci_is_log_scale.
# Mean curve 0.7, 0.81667, 0.9, ...: reaches 0.8 at 20 + (0.1 / 0.11667) * 20 = 260 / 7,
# so the ratio of mean curves is 100 / (260 / 7) = 35 / 13.
ENTROPY = [
    curve("entropy", 0, [0.8, 0.85, 0.9, 0.9, 0.9]),
    curve("entropy", 1, [0.7, 0.9, 0.9, 0.9, 0.9]),
    curve("entropy", 2, [0.6, 0.7, 0.9, 0.9, 0.9]),
]


def row_of(df: pd.DataFrame, strategy: str) -> pd.Series:
    rows = df[df["strategy"] == strategy]
    assert len(rows) == 1
    return rows.iloc[0]


def test_five_fold_ratio_by_hand() -> None:
    fast = [curve("fast", s, [0.8, 0.85, 0.9, 0.9, 0.9]) for s in range(2)]
    df = label_efficiency(RANDOM + fast, cell="toy")
    r = row_of(df, "fast")
    assert r["target"] == pytest.approx(0.8)
    assert r["random_labels_to_target"] == pytest.approx(100.0)
    assert r["ratio"] == pytest.approx(5.0)
    assert r["ratio_of_mean_curves"] == pytest.approx(5.0)
    assert not r["failure"]


def test_ratio_and_ci_by_hand() -> None:
    df = label_efficiency(RANDOM + ENTROPY, cell="waterbirds/bit-m")
    assert list(df.columns) == list(EFFICIENCY_COLUMNS)
    assert df["strategy"].tolist() == ["random", "entropy"]
    r = row_of(df, "entropy")
    assert r["n_seeds"] == 3
    assert r["ratio"] == pytest.approx((100 / 3) ** (1 / 3))
    assert r["ratio_ci_low"] == pytest.approx(math.exp(0.028248), abs=1e-5)
    assert r["ratio_ci_high"] == pytest.approx(math.exp(2.309458), abs=1e-4)
    assert r["labels_to_target"] == pytest.approx(260 / 7)
    assert r["ratio_of_mean_curves"] == pytest.approx(35 / 13)
    assert r["seeds_reached"] == 3 and not r["beyond_budget"]
    assert r["final_mean"] == pytest.approx(0.9)
    # AUCs by trapezoid over span 80: seed 0 -> (0.825 + 0.875 + 0.9 + 0.9) * 20 / 80 = 0.875,
    # seed 1 -> (0.8 + 0.9 + 0.9 + 0.9) * 20 / 80 = 0.875, seed 2 -> (0.65 + 0.8 + 0.9 + 0.9) / 4.
    assert r["auc_mean"] == pytest.approx((0.875 + 0.875 + 3.25 / 4) / 3)
    assert r["cell"] == "waterbirds/bit-m"
    assert not r["failure"] and r["failure_reason"] == ""
    base = row_of(df, "random")
    assert not base["failure"] and base["failure_reason"] == "baseline"
    assert base["ratio_of_mean_curves"] == pytest.approx(1.0)


def test_explicit_target() -> None:
    # Target 0.6: random's mean curve reaches it at 60; entropy seed 0 at 20 -> ratio 3,
    # seed 1 at 20 -> 3, seed 2 at 20 -> 3.
    df = label_efficiency(RANDOM + ENTROPY, target=0.6)
    r = row_of(df, "entropy")
    assert r["target"] == 0.6
    assert r["random_labels_to_target"] == pytest.approx(60.0)
    assert r["ratio"] == pytest.approx(3.0)


def test_failure_when_ratio_at_most_one() -> None:
    # Same curves as random: ratio of mean curves exactly 1 and no better final metric.
    twin = [curve("twin", c.seed, c.values.tolist()) for c in RANDOM]
    r = row_of(label_efficiency(RANDOM + twin), "twin")
    assert r["ratio_of_mean_curves"] == pytest.approx(1.0)
    assert r["failure"]
    assert "not better than random" in r["failure_reason"]


def test_ratio_exactly_one_is_a_failure_even_with_a_better_final() -> None:
    # Binary-exact values: both reach 0.5 at exactly 40 labels (ratio 1.0), the strategy
    # ends higher (1.0 > 0.75), so only "ratio <= 1" makes it a failure.
    base = [curve("random", s, [0.25, 0.5, 0.625, 0.75, 0.75]) for s in range(2)]
    tie = [curve("tie", s, [0.25, 0.5, 0.75, 1.0, 1.0]) for s in range(2)]
    r = row_of(label_efficiency(base + tie, target=0.5), "tie")
    assert r["ratio"] == 1.0
    assert r["failure"] and r["failure_reason"] == "ratio 1.00 <= 1"


def test_failure_when_final_metric_not_better_despite_fast_start() -> None:
    # Reaches 0.8 at 20 (ratio 5) but ends at 0.7 < random's 0.8.
    peaky = [curve("peaky", s, [0.8, 0.8, 0.75, 0.7, 0.7]) for s in range(2)]
    r = row_of(label_efficiency(RANDOM + peaky), "peaky")
    assert r["ratio"] == pytest.approx(5.0)
    assert r["failure"]
    assert "final" in r["failure_reason"] and "ratio" not in r["failure_reason"]


def test_failure_when_slower_but_better_at_the_end() -> None:
    # Mean 0.3, 0.4, 0.5, 0.7, 0.9 reaches 0.8 at 80 + 0.5 * 20 = 90; random needs 100,
    # so the ratio is 100 / 90 = 1.11 > 1 and final 0.9 > 0.8: not a failure.
    late = [curve("late", s, [0.3, 0.4, 0.5, 0.7, 0.9]) for s in range(2)]
    r = row_of(label_efficiency(RANDOM + late), "late")
    assert r["ratio"] == pytest.approx(100 / 90)
    assert not r["failure"]
    # With target 0.6 it needs 60 + 0.5 * 20 = 70 labels vs random's 60: ratio 6/7 <= 1.
    r = row_of(label_efficiency(RANDOM + late, target=0.6), "late")
    assert r["ratio"] == pytest.approx(60 / 70)
    assert r["failure"] and "ratio 0.86 <= 1" in r["failure_reason"]


def test_never_reached_is_beyond_budget_and_a_failure() -> None:
    weak = [curve("weak", s, [0.3, 0.4, 0.5, 0.6, 0.7]) for s in range(2)]
    r = row_of(label_efficiency(RANDOM + weak), "weak")
    assert math.isnan(r["ratio"]) and math.isnan(r["ratio_of_mean_curves"])
    assert math.isnan(r["labels_to_target"])
    assert r["seeds_reached"] == 0 and r["beyond_budget"]
    assert r["failure"] and "never reaches target" in r["failure_reason"]


def test_some_seeds_beyond_budget() -> None:
    # Seed 0 reaches 0.8 at 40, seed 1 never does; the mean curve (0.6, 0.75, 0.85, ...)
    # reaches it at 40 + 0.5 * 20 = 50 -> ratio of mean curves 2, per-seed mean undefined.
    mixed = [
        curve("mixed", 0, [0.6, 0.8, 0.95, 0.95, 0.95]),
        curve("mixed", 1, [0.6, 0.7, 0.75, 0.75, 0.75]),
    ]
    r = row_of(label_efficiency(RANDOM + mixed), "mixed")
    assert r["seeds_reached"] == 1 and r["beyond_budget"]
    assert math.isnan(r["ratio"])
    assert r["ratio_of_mean_curves"] == pytest.approx(2.0)
    assert not r["failure"]  # ratio of means 2 > 1 and final 0.85 > 0.8


def test_random_never_reaching_explicit_target() -> None:
    df = label_efficiency(RANDOM + ENTROPY, target=0.85)
    r = row_of(df, "entropy")
    assert math.isnan(r["random_labels_to_target"]) and math.isnan(r["ratio"])
    assert r["seeds_reached"] == 3
    assert "random > budget" in format_table(df)


def test_lower_is_better_efficiency() -> None:
    # Losses are 1 - accuracy: the ratios match the accuracy version.
    flip = [curve(c.strategy, c.seed, (1 - c.values).tolist()) for c in RANDOM + ENTROPY]
    r = row_of(label_efficiency(flip, higher_is_better=False), "entropy")
    assert r["ratio"] == pytest.approx((100 / 3) ** (1 / 3))
    assert not r["failure"]


def test_missing_baseline_is_an_error() -> None:
    with pytest.raises(ReportError, match="no 'random' curves"):
        label_efficiency(ENTROPY, cell="toy")


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(0.05, 1, allow_nan=False), min_size=5, max_size=5),
        min_size=1,
        max_size=4,
    )
)
def test_identical_strategy_has_ratio_one_and_fails(rows: list[list[float]]) -> None:
    base = [curve("random", i, r) for i, r in enumerate(rows)]
    twin = [curve("twin", i, r) for i, r in enumerate(rows)]
    r = row_of(label_efficiency(base + twin), "twin")
    # a curve at its target from the first point has no label cost to compare: undefined
    assert r["undefined"] or r["ratio_of_mean_curves"] == pytest.approx(1.0)
    assert r["failure"]


# --- tables ---------------------------------------------------------------------------------


def test_table_of_cells_and_its_text() -> None:
    weak = [curve("weak", s, [0.3, 0.4, 0.5, 0.6, 0.7]) for s in range(2)]
    df = label_efficiency_table({"wb/bit-m": RANDOM + ENTROPY, "wb/scratch": RANDOM + weak})
    assert df["cell"].tolist() == ["wb/bit-m", "wb/bit-m", "wb/scratch", "wb/scratch"]
    text = format_table(df)
    lines = text.splitlines()
    assert len(lines) == 2 + len(df)
    header = lines[0]
    for word in ("cell", "strategy", "ratio [95% CI]", "final [95% CI]", "AUC [95% CI]", "failure"):
        assert word in header
    # Fixed width: every row's strategy starts under the header's "strategy".
    col = header.index("strategy")
    for line, name in zip(lines[2:], df["strategy"], strict=True):
        assert line[col:].startswith(name)
    entropy_line = next(x for x in lines if " entropy " in x)
    assert "3.22x [1.03, 10.07]" in entropy_line  # see test_ratio_ci_is_log_scale_by_hand
    assert "2.69x" in entropy_line and entropy_line.rstrip().endswith("ok")
    weak_line = next(x for x in lines if " weak " in x)
    assert "> budget (0/2 seeds reached)" in weak_line and "FAIL" in weak_line
    assert "0.900 [0.900, 0.900]" in entropy_line  # all seeds end at 0.9
    assert sum("baseline" in x for x in lines) == 2
    random_line = next(x for x in lines if " random " in x)
    assert "(baseline)" in random_line and "> budget" not in random_line


def test_flat_baseline_makes_the_ratio_undefined_not_one() -> None:
    # Worst-group accuracy stuck at 0 for random: its target (0) is met at the first
    # evaluation, so "labels to reach it" measures nothing for any strategy.
    flat = [curve("random", s, [0.0, 0.0, 0.0, 0.0, 0.0]) for s in range(3)]
    also_flat = [curve("entropy", s, [0.0, 0.0, 0.0, 0.0, 0.0]) for s in range(3)]
    df = label_efficiency(flat + also_flat, cell="stuck")
    r = row_of(df, "entropy")
    assert r["undefined"] and math.isnan(r["ratio"]) and math.isnan(r["ratio_of_mean_curves"])
    assert r["failure"] and "not better than random" in r["failure_reason"]
    line = next(x for x in format_table(df).splitlines() if " entropy " in x)
    assert "undefined (target met at start)" in line and "1.00x" not in line


def _random_with_gains(gains: list[float]) -> list[Curve]:
    # each seed starts at 0.1 and ends at 0.1 + its gain, rising linearly
    return [
        curve("random", s, list(0.1 + g * np.linspace(0.0, 1.0, len(STEPS))))
        for s, g in enumerate(gains)
    ]


def test_baseline_gain_not_resolved_makes_the_ratio_undefined() -> None:
    # Random's per-seed gains 0.01, 0.02, 0.03: mean 0.02, sd 0.01, t(0.975, 2) = 4.3027,
    # half-width 4.3027 * 0.01 / sqrt(3) = 0.0248 -> interval [-0.0048, 0.0448] holds 0.
    # A strategy that jumps early would otherwise get a ratio read off that noise.
    jumper = [curve("entropy", s, [0.1, 0.2, 0.2, 0.2, 0.2]) for s in range(3)]
    df = label_efficiency(_random_with_gains([0.01, 0.02, 0.03]) + jumper, cell="floor")
    r = row_of(df, "entropy")
    assert r["undefined"] and r["undefined_reason"] == "random's gain not resolved"
    assert math.isnan(r["ratio"]) and math.isnan(r["ratio_of_mean_curves"])
    # its final (0.2) beats random's (0.12) and its own gain (0.1 each seed) is resolved
    assert not r["failure"]
    line = next(x for x in format_table(df).splitlines() if " entropy " in x)
    assert "undefined (random's gain not resolved)" in line and "x [" not in line


def test_strategy_at_the_same_floor_is_a_failure_case() -> None:
    # Random unresolved (gains 0.01-0.03); "lucky" ends higher on average (0.15 vs 0.12) but its
    # own gains 0, 0, 0.15 have mean 0.05, sd 0.0866, half-width 4.3027 * 0.0866 / sqrt(3)
    # = 0.215 -> [-0.165, 0.265]: noise about the same floor, so not "ok".
    lucky = [
        curve("lucky", 0, [0.1] * 5),
        curve("lucky", 1, [0.1] * 5),
        curve("lucky", 2, [0.1, 0.1, 0.1, 0.1, 0.25]),
    ]
    df = label_efficiency(_random_with_gains([0.01, 0.02, 0.03]) + lucky)
    r = row_of(df, "lucky")
    assert r["failure"] and r["failure_reason"] == "its gain not resolved either"


def test_baseline_gain_just_resolved_keeps_the_ratio() -> None:
    # Gains 0.02, 0.03, 0.04: mean 0.03, the same half-width 0.0248 -> [0.0052, 0.0548] > 0.
    # Random's mean curve ends at 0.13 and reaches it at 100 labels; entropy (0.2 from 40
    # labels) reaches 0.13 at 20 + 0.3 * 20 = 26 labels per seed: ratio 100 / 26.
    jumper = [curve("entropy", s, [0.1, 0.2, 0.2, 0.2, 0.2]) for s in range(3)]
    df = label_efficiency(_random_with_gains([0.02, 0.03, 0.04]) + jumper, cell="rising")
    r = row_of(df, "entropy")
    assert not r["undefined"] and r["undefined_reason"] == ""
    assert r["ratio"] == pytest.approx(100 / 26)


def test_given_target_is_not_second_guessed_by_the_gain_rule() -> None:
    # The same unresolved random as above, but the user names the target (0.15): random's mean
    # curve (gain 0.02 over 80 labels) reaches it at 20 + 0.05/0.02 * 80 = 220 -> never (> 100).
    jumper = [curve("entropy", s, [0.1, 0.2, 0.2, 0.2, 0.2]) for s in range(3)]
    df = label_efficiency(_random_with_gains([0.01, 0.02, 0.03]) + jumper, target=0.15)
    assert not row_of(df, "entropy")["undefined"]
    df = label_efficiency(_random_with_gains([0.01, 0.02, 0.03]) + jumper, target=0.11)
    r = row_of(df, "entropy")  # random: 20 + 0.01/0.02 * 80 = 60; entropy: 20 + 0.1 * 20 = 22
    assert not r["undefined"] and r["ratio"] == pytest.approx(60 / 22)


def test_gain_rule_follows_the_metric_direction() -> None:
    # A loss that random lowers by 0.02, 0.03, 0.04 is a resolved gain (lower is better);
    # lowered by 0.01, 0.02, 0.03 it is not (the same interval as above, mirrored).
    def falling(gains: list[float]) -> list[Curve]:
        return [
            curve("random", s, list(0.5 - g * np.linspace(0.0, 1.0, len(STEPS))))
            for s, g in enumerate(gains)
        ]

    other = [curve("entropy", s, [0.5, 0.4, 0.4, 0.4, 0.4]) for s in range(3)]
    resolved = label_efficiency(falling([0.02, 0.03, 0.04]) + other, higher_is_better=False)
    assert not row_of(resolved, "entropy")["undefined"]
    noise = label_efficiency(falling([0.01, 0.02, 0.03]) + other, higher_is_better=False)
    assert row_of(noise, "entropy")["undefined_reason"] == "random's gain not resolved"


def test_one_seed_withholds_nothing_for_the_gain_rule() -> None:
    jumper = [curve("entropy", 0, [0.1, 0.2, 0.2, 0.2, 0.2])]
    df = label_efficiency(_random_with_gains([0.01]) + jumper)
    assert not row_of(df, "entropy")["undefined"]


def test_empty_table() -> None:
    assert label_efficiency_table({}).empty
    assert len(format_table(label_efficiency_table({})).splitlines()) == 2


def test_group_by_strategy_keeps_order_and_sorts_seeds() -> None:
    curves = [ENTROPY[2], RANDOM[1], ENTROPY[0], RANDOM[0], ENTROPY[1]]
    groups = group_by_strategy(curves)
    assert list(groups) == ["entropy", "random"]
    assert [c.seed for c in groups["entropy"]] == [0, 1, 2]


# --- plots ----------------------------------------------------------------------------------


def assert_png(path: Path, expected: Path) -> None:
    assert path == expected
    data = expected.read_bytes()
    assert len(data) > 1000
    assert data[:8] == PNG_MAGIC


def test_plot_learning_curves_writes_png(tmp_path: Path) -> None:
    single = [curve("single", 0, [0.5, 0.6, 0.7, 0.8, 0.9])]  # one seed: no band, still drawn
    out = tmp_path / "nested" / "curves.png"
    got = plot_learning_curves(
        {"random": RANDOM, "entropy": ENTROPY, "single": single},
        "worst_group_accuracy",
        out,
        target=0.8,
    )
    assert_png(got, out)


def test_plot_learning_curves_with_another_baseline(tmp_path: Path) -> None:
    out = tmp_path / "curves.png"
    got = plot_learning_curves({"entropy": ENTROPY}, "accuracy", out, baseline="entropy")
    assert_png(got, out)
    with pytest.raises(ReportError, match="no curves"):
        plot_learning_curves({}, "accuracy", tmp_path / "empty.png")


def test_plot_trial_curve_writes_png(tmp_path: Path) -> None:
    out = tmp_path / "trial.png"
    got = plot_trial_curve(STEPS, {"id/accuracy": [0.5, 0.6, 0.7, 0.8, 0.9]}, out)
    assert_png(got, out)


def test_plot_trial_curve_rejects_length_mismatch(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="one value per evaluation round"):
        plot_trial_curve(STEPS, {"acc": [0.5, 0.6]}, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()
