"""The report's HTML: one self-contained page (CSS inline, figures as data: URIs), no server needed.

Every number of the label-efficiency table that the parent run logs as a metric sits in a
``<span data-metric=KEY data-value=VALUE>`` whose KEY is that metric, so a reader (or a test) can
check the page against MLflow without parsing formatted text; numbers the run does not log as
metrics (the final metric's interval) carry ``data-column`` instead.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from raysweep.analysis.table_text import undefined_text
from raysweep.tracking.layout import metric_key

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.failure td { background: #fff1f0; } .meta td:first-child { font-weight: 600; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { max-width: 520px; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #555; }
"""


@dataclass(frozen=True)
class GroupFigures:
    """The figures of one comparison group (dataset, model, grid point)."""

    comparison: str
    curves: Path
    upsampling: Path | None


@dataclass(frozen=True)
class FailedTrial:
    run_id: str
    name: str
    error: str


def data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def _number(key: str, value: object, text: str | None = None, logged: bool = True) -> str:
    """A number tagged with the parent-run metric (or, not ``logged``, the column) it shows."""
    number = float(value)  # type: ignore[arg-type]
    shown = text if text is not None else (f"{number:.3f}" if math.isfinite(number) else "n/a")
    attribute = "data-metric" if logged else "data-column"
    return (
        f'<span {attribute}="{html.escape(key)}" data-value="{number!r}">'
        f"{html.escape(shown)}</span>"
    )


def _interval(
    prefix: str, row: pd.Series, columns: tuple[str, str, str], suffix: str, bounds_logged: bool
) -> str:
    """``mean [low, high]``; the bounds are shown only when they exist (two or more seeds)."""
    mean, low, high = columns
    value = float(row[mean])
    if not math.isfinite(value):
        return "n/a"
    body = _number(f"{prefix}/{mean}", value, f"{value:.2f}{suffix}")
    if math.isfinite(float(row[low])) and math.isfinite(float(row[high])):
        bounds = [
            _number(f"{prefix}/{c}", row[c], f"{float(row[c]):.2f}", logged=bounds_logged)
            for c in (low, high)
        ]
        body += f" [{bounds[0]}, {bounds[1]}]"
    return body


def _ratio(prefix: str, row: pd.Series) -> str:
    if row["failure_reason"] == "baseline":
        return "(baseline)"
    if row["undefined"]:
        return html.escape(undefined_text(row))
    if not math.isfinite(float(row["ratio"])):
        if not math.isfinite(float(row["random_labels_to_target"])):
            return "random &gt; budget"
        return f"&gt; budget ({row['seeds_reached']}/{row['n_seeds']} seeds reached)"
    return _interval(prefix, row, ("ratio", "ratio_ci_low", "ratio_ci_high"), "x", True)


def efficiency_table(table: pd.DataFrame) -> str:
    """The label-efficiency table, one row per (comparison group, strategy)."""
    if not len(table):
        return "<p>No comparison group has finished trials of the reference strategy.</p>"
    head = (
        "<tr><th>comparison group</th><th>strategy</th><th>seeds</th><th>labels to target</th>"
        "<th>label efficiency [95% CI]</th><th>ratio of mean curves</th>"
        "<th>final metric [95% CI]</th><th>AUC (mean height)</th><th>failure</th></tr>"
    )
    rows = []
    for _, row in table.iterrows():
        prefix = metric_key(f"efficiency/{row['cell']}/{row['strategy']}")
        needs = float(row["labels_to_target"])
        cells = [
            html.escape(str(row["cell"])),
            html.escape(str(row["strategy"])),
            str(int(row["n_seeds"])),
            f"{needs:.0f}" if math.isfinite(needs) else "&gt; budget",
            _ratio(prefix, row),
            _number(f"{prefix}/ratio_of_mean_curves", row["ratio_of_mean_curves"]),
            _interval(prefix, row, ("final_mean", "final_ci_low", "final_ci_high"), "", False),
            _number(f"{prefix}/auc_mean", row["auc_mean"]),
            _number(
                f"{prefix}/failure",
                float(bool(row["failure"])),
                "yes" if row["failure"] else "no",
            ),
        ]
        css = ' class="failure"' if row["failure"] else ""
        tds = "".join(
            f'<td class="num">{c}</td>' if i >= 2 else f"<td>{c}</td>" for i, c in enumerate(cells)
        )
        rows.append(f"<tr{css}>{tds}</tr>")
    return f'<table id="label-efficiency">{head}{"".join(rows)}</table>'


def failure_cases(table: pd.DataFrame, failed: Sequence[FailedTrial]) -> str:
    """Strategies that did not beat the reference, and trials that crashed."""
    parts = []
    flagged = table[table["failure"].astype(bool)] if len(table) else table
    if len(flagged):
        rows = "".join(
            f"<tr><td>{html.escape(str(r['cell']))}</td><td>{html.escape(str(r['strategy']))}</td>"
            f"<td>{html.escape(str(r['failure_reason']))}</td></tr>"
            for _, r in flagged.iterrows()
        )
        parts.append(
            '<table id="failure-cases"><tr><th>comparison group</th><th>strategy</th>'
            f"<th>why</th></tr>{rows}</table>"
        )
    else:
        parts.append("<p>Every strategy beat the reference strategy.</p>")
    if failed:
        rows = "".join(
            f"<tr><td>{html.escape(t.name)}</td><td><code>{html.escape(t.run_id)}</code></td>"
            f"<td>{html.escape(t.error)}</td></tr>"
            for t in failed
        )
        parts.append(
            '<h3>Trials that failed</h3><table id="failed-trials"><tr><th>trial</th>'
            f"<th>MLflow run</th><th>error (traceback.txt in the run)</th></tr>{rows}</table>"
        )
    return "".join(parts)


def _figure(png: Path, caption: str) -> str:
    return (
        f'<figure><img src="{data_uri(png)}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def render_page(
    *,
    title: str,
    meta: Sequence[tuple[str, str]],
    metric: str,
    table: pd.DataFrame,
    figures: Sequence[GroupFigures],
    failed: Sequence[FailedTrial],
) -> str:
    """The whole page as one string."""
    meta_rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in meta
    )
    groups = []
    for group in figures:
        images = _figure(group.curves, f"{metric}: mean and 95% interval over seeds")
        if group.upsampling is not None:
            images += _figure(group.upsampling, "acquisition up-sampling vs base rate")
        groups.append(f"<h3>{html.escape(group.comparison)}</h3>{images}")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><table class='meta'>{meta_rows}</table>"
        f"<h2>Label efficiency</h2><p>Labels the reference strategy needs to reach the target "
        f"on <code>{html.escape(metric)}</code>, divided by the labels each strategy needs "
        "(per seed, mean with its 95% interval).</p>"
        f"{efficiency_table(table)}"
        "<h2>Learning curves and acquisition up-sampling</h2>"
        "<p>Up-sampling is a data group's share in the acquired labels divided by its share in "
        "the pool: above 1 (the dashed base rate) the strategy seeks that group out.</p>"
        f"{''.join(groups)}"
        f"<h2>Failure cases</h2>{failure_cases(table, failed)}"
        "</body></html>\n"
    )
