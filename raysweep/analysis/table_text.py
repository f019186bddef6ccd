"""The label-efficiency table as fixed-width text, printed at the end of a sweep."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd


def undefined_text(row: Mapping[str, Any]) -> str:
    """What a table says in place of an undefined ratio: the word and the reason (efficiency)."""
    reason = row.get("undefined_reason") or "target met at start"
    return f"undefined ({reason})"


def _fmt_ci(mean: float, low: float, high: float, digits: int = 3) -> str:
    """``mean ± half-width`` (or the mean alone when the interval is undefined)."""
    if not math.isfinite(mean):
        return "n/a"
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{mean:.{digits}f}"
    # the interval is written out: clipped to the metric's range it need not be symmetric
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _fmt_ratio(row: Mapping[str, Any]) -> str:
    """Ratio with its interval, or why there is none ("> budget", random never reached).

    The baseline's own per-seed ratios stay in the DataFrame but are not shown: with the
    default target its below-average seeds never reach random's mean final metric, and a
    "> budget" next to random would read as a result rather than as seed noise.
    """
    if row["failure_reason"] == "baseline":
        return "(baseline)"
    if row["undefined"]:
        return undefined_text(row)
    ratio = float(row["ratio"])
    if math.isfinite(ratio):
        lo, hi = float(row["ratio_ci_low"]), float(row["ratio_ci_high"])
        if math.isfinite(lo) and math.isfinite(hi):
            return f"{ratio:.2f}x [{lo:.2f}, {hi:.2f}]"
        return f"{ratio:.2f}x"
    if not math.isfinite(float(row["random_labels_to_target"])):
        return "random > budget"
    return f"> budget ({row['seeds_reached']}/{row['n_seeds']} seeds reached)"


def _fmt_mean_ratio(row: Mapping[str, Any]) -> str:
    if row["undefined"]:
        return undefined_text(row)
    ratio = float(row["ratio_of_mean_curves"])
    if math.isfinite(ratio):
        return f"{ratio:.2f}x"
    if not math.isfinite(float(row["random_labels_to_target"])):
        return "random > budget"
    return "> budget"


def format_table(df: pd.DataFrame) -> str:
    """A fixed-width text table of :func:`label_efficiency` rows, printed at the end of a sweep.

    Columns: cell, strategy, seeds, ratio [95% CI] (geometric mean of per-seed ratios), ratio of
    the mean curves, final metric [95% CI], AUC [95% CI], and the failure flag with its reason.
    """
    headers = (
        "cell",
        "strategy",
        "seeds",
        "ratio [95% CI]",
        "ratio (mean curves)",
        "final [95% CI]",
        "AUC [95% CI]",
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
