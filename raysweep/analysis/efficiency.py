"""Label efficiency of each strategy against the reference strategy (random), per comparison group.

Conventions (see ``SCIENCE.md``, "Across seeds and strategies"): the ratio of a strategy is
(labels random needs) ÷ (labels the strategy needs) to reach the target, which defaults to
random's final metric (the paper's choice); never reaching it means "> budget". A target that
random's mean curve already meets at its first evaluation (e.g. a worst-group accuracy stuck at
0) measures nothing: every curve "reaches" it at once, so the ratio is undefined, not 1. Nor does
a target that random never resolvably climbs to: when the 95% interval of random's per-seed gain
(last evaluation minus first) includes 0, its curve is noise about a floor, and "labels to reach
random's final value" reads that noise (a ratio of 3x with an interval of [0.3, 38]). The ratio
is then undefined too, and the table says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from raysweep.analysis.curves import (
    Curve,
    ReportError,
    area_under_curve,
    group_by_strategy,
    labels_to_reach,
    mean_curve_with_ci,
)
from raysweep.analysis.intervals import mean_ci, ratio_ci

#: Name of the baseline strategy the paper compares against.
BASELINE = "random"

#: Why a cell's ratios are undefined (the ``undefined_reason`` column; "" when they are defined).
TARGET_MET_AT_START = "target met at start"
NO_RESOLVED_GAIN = "random's gain not resolved"

#: Columns of :func:`label_efficiency`, in order (also the schema of the logged table).
EFFICIENCY_COLUMNS = (
    "cell",
    "strategy",
    "n_seeds",
    "target",
    "random_labels_to_target",
    "labels_to_target",
    "ratio",
    "ratio_ci_low",
    "ratio_ci_high",
    "ratio_of_mean_curves",
    "seeds_reached",
    "beyond_budget",
    "undefined",
    "undefined_reason",
    "final_mean",
    "final_ci_low",
    "final_ci_high",
    "auc_mean",
    "auc_ci_low",
    "auc_ci_high",
    "failure",
    "failure_reason",
)


def _not_worse(a: float, b: float, higher_is_better: bool) -> bool:
    """True when ``a`` is at least as good as ``b``."""
    return a >= b if higher_is_better else a <= b


def label_efficiency(
    curves: Sequence[Curve],
    *,
    cell: str = "",
    baseline: str = BASELINE,
    target: float | None = None,
    higher_is_better: bool = True,
    bounds: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """One row per strategy of a cell: label-efficiency ratio vs random, final metric, AUC.

    Why each choice (SCIENCE.md, sweep level):

    * target: random's final metric (mean over seeds, i.e. the last point of random's mean
      curve) unless ``target`` is given;
    * labels random needs: read off random's MEAN curve, so the numerator is one number;
    * labels the strategy needs: per seed, so the ratio gets a 95% interval over seeds
      (``ratio`` is the geometric mean of the per-seed ratios, ``ratio_ci_low/high`` the
      log-scale t interval); ``ratio_of_mean_curves`` is the same ratio computed on the
      strategy's mean curve, the number a plot of means shows;
    * a seed (or mean curve) that never reaches the target records NaN and sets
      ``beyond_budget`` ("> budget"); the per-seed mean is then NaN rather than a mean over
      the lucky seeds only, and ``seeds_reached`` says how many made it;
    * ``undefined``: random's mean curve meets the target at its first evaluation, or (with the
      default target and at least 2 seeds) the 95% t interval of random's per-seed gain from
      its first to its last evaluation includes 0; no ratio is reported (NaN) rather than a
      meaningless 1.00x or a ratio read off noise, and ``undefined_reason`` says which;
    * final metric and AUC: mean with a t interval, clipped to ``bounds``;
    * ``failure``: the ratio is ≤ 1 (``ratio``, or ``ratio_of_mean_curves`` when some
      seed never reached), or the strategy's mean curve never reaches a target random
      reaches, or its final metric is ≤ random's. The baseline row is reported for
      reference and never flagged.
    """
    groups = group_by_strategy(curves)
    if baseline not in groups:
        raise ReportError(
            f"cell {cell!r} has no {baseline!r} curves to compare against "
            f"(strategies: {sorted(groups)})"
        )
    reference = _Reference.of(groups[baseline], target, higher_is_better, bounds)
    order = [baseline, *(name for name in groups if name != baseline)]
    rows = [
        _strategy_row(cell, name, groups[name], reference, is_baseline=name == baseline)
        for name in order
    ]
    return pd.DataFrame(rows, columns=list(EFFICIENCY_COLUMNS))


@dataclass(frozen=True)
class _Reference:
    """What every strategy of a cell is measured against: the target and random's cost to reach it."""

    goal: float
    labels: float | None  # labels random's mean curve needs to reach ``goal`` (None: never)
    final: float  # random's mean final metric
    higher_is_better: bool
    bounds: tuple[float, float] | None  # the metric's range, for intervals
    undefined_reason: str  # why no ratio is defined ("" when one is)

    @property
    def undefined(self) -> bool:
        return bool(self.undefined_reason)

    @classmethod
    def of(
        cls,
        baseline_curves: Sequence[Curve],
        target: float | None,
        higher_is_better: bool,
        bounds: tuple[float, float] | None,
    ) -> _Reference:
        labels, mean, _, _ = mean_curve_with_ci(baseline_curves)
        final = float(mean[-1])
        # The default target is taken from the same array labels_to_reach reads, so random's
        # mean curve reaches it exactly (a separately computed mean may differ in the last bit).
        goal = final if target is None else float(target)
        needed = labels_to_reach(labels, mean, goal, higher_is_better=higher_is_better)
        if needed is not None and needed <= labels[0]:
            reason = TARGET_MET_AT_START
        elif target is None and not _gain_resolved(baseline_curves, higher_is_better):
            reason = NO_RESOLVED_GAIN
        else:
            reason = ""
        return cls(goal, needed, final, higher_is_better, bounds, reason)

    def needs(self, labels: np.ndarray, values: np.ndarray) -> float | None:
        return labels_to_reach(labels, values, self.goal, higher_is_better=self.higher_is_better)


def _gain_resolved(curves: Sequence[Curve], higher_is_better: bool) -> bool:
    """Whether random's per-seed gain (last minus first evaluation) is resolved above 0.

    Its 95% t interval must exclude 0. A given target is the user's own and is not second-
    guessed; with one seed nothing is resolved, and nothing is withheld either (no interval).
    """
    sign = 1.0 if higher_is_better else -1.0
    gains = [sign * (float(c.values[-1]) - float(c.values[0])) for c in curves]
    _, low, _ = mean_ci(gains)
    return not math.isfinite(low) or low > 0.0


def _strategy_row(
    cell: str, name: str, group: list[Curve], ref: _Reference, *, is_baseline: bool
) -> dict[str, Any]:
    """One row of the table: ratios per seed and of the mean curves, final metric, AUC, failure."""
    labels, mean, _, _ = mean_curve_with_ci(group, ref.bounds)
    reached = [n for n in (ref.needs(c.labels, c.values) for c in group) if n is not None]
    comparable = ref.labels is not None and not ref.undefined
    if len(reached) == len(group) and comparable:
        ratio, ratio_lo, ratio_hi = ratio_ci([ref.labels / n for n in reached])
    else:
        ratio = ratio_lo = ratio_hi = math.nan
    mean_needs = ref.needs(labels, mean)
    ratio_of_means = ref.labels / mean_needs if mean_needs is not None and comparable else math.nan
    final_mean, final_lo, final_hi = mean_ci([c.values[-1] for c in group], ref.bounds)
    auc_mean, auc_lo, auc_hi = mean_ci(
        [area_under_curve(c.labels, c.values) for c in group], ref.bounds
    )
    reasons = (
        []
        if is_baseline
        else _failure_reasons(ratio, ratio_of_means, mean_needs, final_mean, ref)
        + _unresolved_cell_reasons(group, ref)
    )
    return {
        "cell": cell,
        "strategy": name,
        "n_seeds": len(group),
        "target": ref.goal,
        "random_labels_to_target": math.nan if ref.labels is None else ref.labels,
        "labels_to_target": math.nan if mean_needs is None else mean_needs,
        "ratio": ratio,
        "ratio_ci_low": ratio_lo,
        "ratio_ci_high": ratio_hi,
        "ratio_of_mean_curves": ratio_of_means,
        "seeds_reached": len(reached),
        "beyond_budget": len(reached) < len(group) or mean_needs is None,
        "undefined": ref.undefined,
        "undefined_reason": ref.undefined_reason,
        "final_mean": final_mean,
        "final_ci_low": final_lo,
        "final_ci_high": final_hi,
        "auc_mean": auc_mean,
        "auc_ci_low": auc_lo,
        "auc_ci_high": auc_hi,
        "failure": bool(reasons),
        "failure_reason": "baseline" if is_baseline else "; ".join(reasons),
    }


def _failure_reasons(
    ratio: float,
    ratio_of_means: float,
    mean_needs: float | None,
    final_mean: float,
    ref: _Reference,
) -> list[str]:
    """Why a strategy is a failure case: no label saving, or no better final metric than random."""
    reasons = []
    headline = ratio if math.isfinite(ratio) else ratio_of_means
    if math.isfinite(headline) and headline <= 1.0:
        reasons.append(f"ratio {headline:.2f} <= 1")
    elif mean_needs is None and ref.labels is not None and not ref.undefined:
        reasons.append("never reaches target")
    if _not_worse(ref.final, final_mean, ref.higher_is_better):
        reasons.append(f"final {final_mean:.4g} not better than random {ref.final:.4g}")
    return reasons


def _unresolved_cell_reasons(group: Sequence[Curve], ref: _Reference) -> list[str]:
    """In a cell where random does not resolvably improve, a strategy must itself resolvably
    improve to count as a success: a final value above random's that is noise about the same
    floor would otherwise read as "ok"."""
    if ref.undefined_reason != NO_RESOLVED_GAIN or _gain_resolved(group, ref.higher_is_better):
        return []
    return ["its gain not resolved either"]


def label_efficiency_table(
    cells: Mapping[str, Sequence[Curve]],
    *,
    baseline: str = BASELINE,
    target: float | None = None,
    higher_is_better: bool = True,
    bounds: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """:func:`label_efficiency` of every cell, stacked into one table (one row per strategy)."""
    frames = [
        label_efficiency(
            cs,
            cell=cell,
            baseline=baseline,
            target=target,
            higher_is_better=higher_is_better,
            bounds=bounds,
        )
        for cell, cs in cells.items()
    ]
    if not frames:
        return pd.DataFrame(columns=list(EFFICIENCY_COLUMNS))
    return pd.concat(frames, ignore_index=True)
