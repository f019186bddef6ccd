"""Sweep-level analysis of learning curves: label efficiency, AUC, confidence intervals, failures.

Everything here is a pure function over in-memory curves, so it can be tested against hand
computations and reused by any caller. It knows nothing of Ray or MLflow: the caller reads each
trial's learning curve (metric keyed by number of labels) from MLflow, builds :class:`Curve`
objects, and logs the returned tables and plots.

Conventions (see ``SCIENCE.md``, "Across seeds and strategies"):

* a curve is reached at the first point where it is >= the target, linearly interpolated
  between evaluation points; never reaching it means "> budget";
* 95% intervals are the Gaussian approximation ``mean ± 1.96 · sd / √n`` over seeds, with the
  sample standard deviation (``ddof=1``); with one seed the interval is undefined (NaN);
* the label-efficiency ratio of a strategy is (labels random needs) ÷ (labels the strategy
  needs), the target defaulting to random's final metric (the paper's choice).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from raysweep.errors import RaysweepError

#: z-value of a two-sided 95% Gaussian interval.
Z_95 = 1.96

#: Name of the baseline strategy the paper compares against.
BASELINE = "random"

#: Columns of :func:`label_efficiency`, in order (also the schema of the logged table).
EFFICIENCY_COLUMNS = (
    "cell",
    "strategy",
    "n_seeds",
    "target",
    "random_labels_to_target",
    "labels_to_target",
    "ratio_mean",
    "ratio_ci_low",
    "ratio_ci_high",
    "ratio_of_mean_curves",
    "seeds_reached",
    "beyond_budget",
    "final_mean",
    "final_ci_low",
    "final_ci_high",
    "auc_mean",
    "auc_ci_low",
    "auc_ci_high",
    "failure",
    "failure_reason",
)


class ReportError(RaysweepError, ValueError):
    """Curves that cannot be compared (mismatched label steps, missing baseline, bad arrays)."""


def _as_curve_arrays(labels: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate one curve's arrays so every later computation can assume a well-formed curve."""
    x = np.asarray(labels, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1:
        raise ReportError(
            f"a curve needs 1-D labels and values, got shapes {x.shape} and {y.shape}"
        )
    if x.size == 0:
        raise ReportError("a curve needs at least one evaluation point")
    if x.shape != y.shape:
        raise ReportError(f"labels ({x.size} points) and values ({y.size} points) differ in length")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ReportError("a curve's labels and values must be finite (no NaN or inf)")
    if np.any(np.diff(x) <= 0):
        raise ReportError(f"a curve's labels must be strictly increasing, got {x.tolist()}")
    return x, y


@dataclass(frozen=True)
class Curve:
    """The learning curve of one trial: a metric at each evaluation round, keyed by #labels.

    One trial is one (strategy, seed) inside a cell (dataset, model[, pretrained]); the arrays
    are validated on construction so a malformed MLflow history fails here, by name, rather
    than as a silent NaN in a ratio.
    """

    strategy: str
    seed: int
    labels: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        try:
            x, y = _as_curve_arrays(self.labels, self.values)
        except ReportError as err:
            raise ReportError(f"curve of {self.strategy!r} seed {self.seed}: {err}") from None
        if x[0] <= 0:
            raise ReportError(
                f"curve of {self.strategy!r} seed {self.seed}: numbers of labels must be "
                f"positive, got {x[0]:g}"
            )
        object.__setattr__(self, "labels", x)
        object.__setattr__(self, "values", y)

    @property
    def budget(self) -> float:
        """Labels spent by the end of the trial: a target not reached by then is "> budget"."""
        return float(self.labels[-1])


def labels_to_reach(
    labels: np.ndarray,
    values: np.ndarray,
    target: float,
    *,
    higher_is_better: bool = True,
) -> float | None:
    """Number of labels at which the curve first reaches ``target`` (None: "> budget").

    Curves are only observed at evaluation rounds, so the crossing is linearly interpolated
    between the last point below the target and the first point at or above it, as in the
    paper. A curve already at the target at its first point reaches it there (no
    extrapolation to fewer labels). With ``higher_is_better=False`` (a loss) "reach" means
    falling to or below the target.
    """
    x, y = _as_curve_arrays(labels, values)
    if not math.isfinite(target):
        raise ReportError(f"target must be finite, got {target}")
    if not higher_is_better:
        y, target = -y, -target
    reached = np.flatnonzero(y >= target)
    if reached.size == 0:
        return None
    i = int(reached[0])
    if i == 0:
        return float(x[0])
    # y[i-1] < target <= y[i], so the slope is positive and the crossing lies in (x[i-1], x[i]].
    fraction = (target - y[i - 1]) / (y[i] - y[i - 1])
    return float(x[i - 1] + fraction * (x[i] - x[i - 1]))


def area_under_curve(labels: np.ndarray, values: np.ndarray) -> float:
    """Trapezoid area under the curve divided by its label span: a mean metric over the budget.

    Dividing by the span keeps the number on the metric's own scale (a constant curve at c
    has AUC c), so cells with different budgets can be compared. A single-point curve has
    no span; its AUC is that point's value.
    """
    x, y = _as_curve_arrays(labels, values)
    if x.size == 1:
        return float(y[0])
    area = float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0)
    return area / float(x[-1] - x[0])


def gaussian_ci(samples: Sequence[float] | np.ndarray) -> tuple[float, float, float]:
    """``(mean, low, high)`` of the 95% Gaussian interval ``mean ± 1.96·sd/√n`` over seeds.

    This is the approximation the paper uses for its curves; ``sd`` is the sample standard
    deviation (ddof=1). With fewer than two samples the interval is undefined and returned
    as NaN, so a single-seed result is never shown with a misleading zero width.
    """
    s = np.asarray(samples, dtype=np.float64).ravel()
    if s.size == 0:
        raise ReportError("a confidence interval needs at least one sample")
    mean = float(s.mean())
    if s.size < 2:
        return mean, math.nan, math.nan
    half = Z_95 * float(s.std(ddof=1)) / math.sqrt(s.size)
    return mean, mean - half, mean + half


def _stack(curves: Sequence[Curve]) -> tuple[np.ndarray, np.ndarray]:
    """Labels shared by all curves and their values as a (seeds, steps) array."""
    if len(curves) == 0:
        raise ReportError("no curves to average")
    seeds = [c.seed for c in curves]
    if len(set(seeds)) != len(seeds):
        raise ReportError(
            f"duplicate seeds {sorted(seeds)} for strategy {curves[0].strategy!r}: "
            "was a trial logged twice?"
        )
    reference = curves[0]
    for c in curves[1:]:
        if c.labels.shape != reference.labels.shape or not np.array_equal(
            c.labels, reference.labels
        ):
            raise ReportError(
                f"seeds must share label steps to be averaged: {c.strategy!r} seed {c.seed} "
                f"has {c.labels.tolist()}, seed {reference.seed} has "
                f"{reference.labels.tolist()} (did a trial stop early?)"
            )
    return reference.labels, np.stack([c.values for c in curves])


def mean_curve_with_ci(
    curves: Sequence[Curve],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(labels, mean, low, high)``: the mean learning curve over seeds with a 95% band.

    The band is :func:`gaussian_ci` at every evaluation point. Averaging point-wise is only
    meaningful when all seeds were evaluated at the same numbers of labels, so differing
    label steps (or a duplicated seed) raise :class:`ReportError` instead of being aligned
    silently.
    """
    labels, values = _stack(curves)
    mean = values.mean(axis=0)
    if values.shape[0] < 2:
        nan = np.full_like(mean, np.nan)
        return labels.copy(), mean, nan, nan.copy()
    half = Z_95 * values.std(axis=0, ddof=1) / math.sqrt(values.shape[0])
    return labels.copy(), mean, mean - half, mean + half


def group_by_strategy(curves: Sequence[Curve]) -> dict[str, list[Curve]]:
    """Curves grouped by strategy, in order of first appearance, each sorted by seed."""
    groups: dict[str, list[Curve]] = {}
    for c in curves:
        groups.setdefault(c.strategy, []).append(c)
    return {name: sorted(cs, key=lambda c: c.seed) for name, cs in groups.items()}


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
) -> pd.DataFrame:
    """One row per strategy of a cell: label-efficiency ratio vs random, final metric, AUC.

    Why each choice (SCIENCE.md, sweep level):

    * target: random's final metric (mean over seeds, i.e. the last point of random's mean
      curve) unless ``target`` is given;
    * labels random needs: read off random's MEAN curve, so the numerator is one number;
    * labels the strategy needs: per seed, so the ratio gets a 95% interval over seeds
      (``ratio_mean``, ``ratio_ci_low``, ``ratio_ci_high``); ``ratio_of_mean_curves`` is the
      same ratio computed on the strategy's mean curve, the number a plot of means shows;
    * a seed (or mean curve) that never reaches the target records NaN and sets
      ``beyond_budget`` ("> budget"); the per-seed mean is then NaN rather than a mean over
      the lucky seeds only, and ``seeds_reached`` says how many made it;
    * ``failure``: the ratio is ≤ 1 (``ratio_mean``, or ``ratio_of_mean_curves`` when some
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
    base_labels, base_mean, _, _ = mean_curve_with_ci(groups[baseline])
    base_final = float(base_mean[-1])
    # The default target is taken from the same array labels_to_reach reads, so random's
    # mean curve reaches it exactly (a separately computed mean may differ in the last bit).
    goal = base_final if target is None else float(target)
    random_labels = labels_to_reach(base_labels, base_mean, goal, higher_is_better=higher_is_better)
    random_needs = math.nan if random_labels is None else random_labels

    order = [baseline, *(name for name in groups if name != baseline)]
    rows = []
    for name in order:
        group = groups[name]
        labels, mean, _, _ = mean_curve_with_ci(group)
        per_seed = [
            labels_to_reach(c.labels, c.values, goal, higher_is_better=higher_is_better)
            for c in group
        ]
        reached = [n for n in per_seed if n is not None]
        if len(reached) == len(group) and random_labels is not None:
            ratio_mean, ratio_lo, ratio_hi = gaussian_ci([random_labels / n for n in reached])
        else:
            ratio_mean = ratio_lo = ratio_hi = math.nan
        mean_needs = labels_to_reach(labels, mean, goal, higher_is_better=higher_is_better)
        ratio_of_means = (
            random_labels / mean_needs
            if mean_needs is not None and random_labels is not None
            else math.nan
        )
        final_mean, final_lo, final_hi = gaussian_ci([c.values[-1] for c in group])
        auc_mean, auc_lo, auc_hi = gaussian_ci(
            [area_under_curve(c.labels, c.values) for c in group]
        )

        reasons: list[str] = []
        if name != baseline:
            headline = ratio_mean if math.isfinite(ratio_mean) else ratio_of_means
            if math.isfinite(headline) and headline <= 1.0:
                reasons.append(f"ratio {headline:.2f} <= 1")
            elif mean_needs is None and random_labels is not None:
                reasons.append("never reaches target")
            if _not_worse(base_final, final_mean, higher_is_better):
                reasons.append(f"final {final_mean:.4g} not better than random {base_final:.4g}")
        rows.append(
            {
                "cell": cell,
                "strategy": name,
                "n_seeds": len(group),
                "target": goal,
                "random_labels_to_target": random_needs,
                "labels_to_target": math.nan if mean_needs is None else mean_needs,
                "ratio_mean": ratio_mean,
                "ratio_ci_low": ratio_lo,
                "ratio_ci_high": ratio_hi,
                "ratio_of_mean_curves": ratio_of_means,
                "seeds_reached": len(reached),
                "beyond_budget": len(reached) < len(group) or mean_needs is None,
                "final_mean": final_mean,
                "final_ci_low": final_lo,
                "final_ci_high": final_hi,
                "auc_mean": auc_mean,
                "auc_ci_low": auc_lo,
                "auc_ci_high": auc_hi,
                "failure": bool(reasons),
                "failure_reason": "baseline" if name == baseline else "; ".join(reasons),
            }
        )
    return pd.DataFrame(rows, columns=list(EFFICIENCY_COLUMNS))


def label_efficiency_table(
    cells: Mapping[str, Sequence[Curve]],
    *,
    baseline: str = BASELINE,
    target: float | None = None,
    higher_is_better: bool = True,
) -> pd.DataFrame:
    """:func:`label_efficiency` of every cell, stacked into one table (one row per strategy)."""
    frames = [
        label_efficiency(
            cs, cell=cell, baseline=baseline, target=target, higher_is_better=higher_is_better
        )
        for cell, cs in cells.items()
    ]
    if not frames:
        return pd.DataFrame(columns=list(EFFICIENCY_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def _fmt_ci(mean: float, low: float, high: float, digits: int = 3) -> str:
    """``mean ± half-width`` (or the mean alone when the interval is undefined)."""
    if not math.isfinite(mean):
        return "n/a"
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {(high - low) / 2:.{digits}f}"


def _fmt_ratio(row: Mapping[str, Any]) -> str:
    """Ratio with its interval, or why there is none ("> budget", random never reached).

    The baseline's own per-seed ratios stay in the DataFrame but are not shown: with the
    default target its below-average seeds never reach random's mean final metric, and a
    "> budget" next to random would read as a result rather than as seed noise.
    """
    if row["failure_reason"] == "baseline":
        return "(baseline)"
    ratio = float(row["ratio_mean"])
    if math.isfinite(ratio):
        lo, hi = float(row["ratio_ci_low"]), float(row["ratio_ci_high"])
        if math.isfinite(lo) and math.isfinite(hi):
            return f"{ratio:.2f}x [{lo:.2f}, {hi:.2f}]"
        return f"{ratio:.2f}x"
    if not math.isfinite(float(row["random_labels_to_target"])):
        return "random > budget"
    return f"> budget ({row['seeds_reached']}/{row['n_seeds']} seeds reached)"


def _fmt_mean_ratio(row: Mapping[str, Any]) -> str:
    ratio = float(row["ratio_of_mean_curves"])
    if math.isfinite(ratio):
        return f"{ratio:.2f}x"
    if not math.isfinite(float(row["random_labels_to_target"])):
        return "random > budget"
    return "> budget"


def format_table(df: pd.DataFrame) -> str:
    """A fixed-width text table of :func:`label_efficiency` rows, printed at the end of a sweep.

    Columns: cell, strategy, seeds, ratio [95% CI] (per seed), ratio of the mean curves,
    final metric ± CI half-width, AUC ± CI half-width, and the failure flag with its reason.
    """
    headers = (
        "cell",
        "strategy",
        "seeds",
        "ratio [95% CI]",
        "ratio (mean curves)",
        "final ± CI",
        "AUC ± CI",
        "failure",
    )
    body: list[tuple[str, ...]] = []
    for row in df.to_dict("records"):
        if row["failure_reason"] == "baseline":
            flag = "baseline"
        elif row["failure"]:
            flag = f"FAIL ({row['failure_reason']})"
        else:
            flag = "ok"
        body.append(
            (
                str(row["cell"]),
                str(row["strategy"]),
                str(row["n_seeds"]),
                _fmt_ratio(row),
                _fmt_mean_ratio(row),
                _fmt_ci(row["final_mean"], row["final_ci_low"], row["final_ci_high"]),
                _fmt_ci(row["auc_mean"], row["auc_ci_low"], row["auc_ci_high"]),
                flag,
            )
        )
    widths = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    lines = [line(headers), line(["-" * w for w in widths])]
    lines.extend(line(r) for r in body)
    return "\n".join(lines)
