"""The HTML comparison report: up-sampling against hand computations, the page against the parent
run's metrics, and the page as headless Chromium renders it (images loaded, table matching)."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from browser import dump_dom, screenshot
from conftest import FinishedSweep, subprocess_env
from mlflow.tracking import MlflowClient

from raysweep.analysis.curves import Curve
from raysweep.analysis.efficiency import label_efficiency_table
from raysweep.analysis.html_page import efficiency_table
from raysweep.analysis.html_report import ReportSettings, write_report
from raysweep.analysis.upsampling import summarise_upsampling, weighted_upsampling
from raysweep.report import main as report_main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# appended to a copy of the page: after load, write what each <img> decoded into the DOM
IMAGE_PROBE = """<script>
window.addEventListener('load', () => {
  const probe = document.createElement('pre');
  probe.id = 'image-probe';
  probe.textContent = JSON.stringify(
    Array.from(document.images, (img) => [img.complete, img.naturalWidth, img.naturalHeight]));
  document.body.appendChild(probe);
});
</script>"""


class MetricSpans(HTMLParser):
    """Every ``<span data-metric=... data-value=...>`` of a page, with its shown text."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[tuple[str, float, str]] = []
        self._open: tuple[str, float] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "span" and "data-metric" in found:
            self._open = (str(found["data-metric"]), float(str(found["data-value"])))

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.spans.append((*self._open, data))
            self._open = None


def metric_spans(page: str) -> list[tuple[str, float, str]]:
    parser = MetricSpans()
    parser.feed(page)
    return parser.spans


# --- up-sampling: hand-worked ------------------------------------------------------------------


def test_weighted_upsampling_counts_every_acquired_label_once() -> None:
    # Pool base rate 0.5 / 0.5 in both rounds. Round 1 acquires a,a,a,b: shares 0.75 / 0.25, so
    # up-sampling 1.5 / 0.5; round 2 acquires 6 b: up-sampling 0 / 2. Over all 10 labels a is
    # 3/10 = 0.3 of the acquisitions, 0.3 / 0.5 = 0.6; b is 0.7 / 0.5 = 1.4. Weighted by batch
    # size: a = (4 * 1.5 + 6 * 0) / 10 = 0.6, b = (4 * 0.5 + 6 * 2) / 10 = 1.4.
    counts = {10: {"a": 3.0, "b": 1.0}, 20: {"a": 0.0, "b": 6.0}}
    upsampling = {10: {"a": 1.5, "b": 0.5}, 20: {"a": 0.0, "b": 2.0}}
    got = weighted_upsampling(counts, upsampling)
    assert got == pytest.approx({"a": 0.6, "b": 1.4})


def test_a_group_missing_from_the_pool_weighs_only_rounds_where_it_was_there() -> None:
    # c is in the pool only in round 1 (up-sampling 2.0 there); a round without acquisition
    # (step 30, the last round) carries no weight.
    counts = {10: {"a": 2.0, "c": 2.0}, 20: {"a": 4.0}, 30: {}}
    upsampling = {10: {"a": 0.5, "c": 2.0}, 20: {"a": 1.0}, 30: {"a": 7.0}}
    got = weighted_upsampling(counts, upsampling)
    assert got == pytest.approx({"a": (4 * 0.5 + 4 * 1.0) / 8, "c": 2.0})


def test_summary_over_seeds_is_the_mean_with_a_non_negative_95_interval() -> None:
    per_trial = pd.DataFrame(
        [
            ("g", "entropy", 0, "minority", 1.0),
            ("g", "entropy", 1, "minority", 3.0),
            ("g", "random", 0, "minority", 0.0),
            ("g", "random", 1, "minority", 2.0),
        ],
        columns=["comparison", "strategy", "seed", "data_group", "upsampling"],
    )
    summary = summarise_upsampling(per_trial).set_index("strategy")
    # mean 2, sd sqrt(2), half-width t(0.975, 1 df) * sqrt(2) / sqrt(2) = 12.7062 (t table)
    assert summary.loc["entropy", "mean"] == pytest.approx(2.0)
    assert summary.loc["entropy", "ci_low"] == 0.0  # 2 - 12.7 < 0 is clipped: a ratio of shares
    assert summary.loc["entropy", "ci_high"] == pytest.approx(14.7062, abs=1e-4)
    assert summary.loc["random", "ci_low"] == 0.0
    assert summary.loc["random", "ci_high"] == pytest.approx(13.7062, abs=1e-4)


# --- the page's table: keys and values of the parent-run metrics -----------------------------


def test_every_number_in_the_table_names_its_parent_run_metric() -> None:
    steps = np.array([10, 20, 30])
    curves = [
        Curve("random", 0, steps, np.array([0.2, 0.4, 0.6])),
        Curve("random", 1, steps, np.array([0.2, 0.4, 0.6])),
        # reaches 0.6 at 20 labels (seed 0) and 30 labels (seed 1): ratios 1.5 and 1.0,
        # geometric mean sqrt(1.5) = 1.2247
        Curve("entropy", 0, steps, np.array([0.3, 0.6, 0.7])),
        Curve("entropy", 1, steps, np.array([0.3, 0.5, 0.6])),
    ]
    group = "ds/<model>"  # a character HTML must escape
    table = label_efficiency_table({group: curves})
    spans = {key: (value, text) for key, value, text in metric_spans(efficiency_table(table))}
    assert spans["efficiency/ds/_model_/entropy/ratio"][0] == pytest.approx(1.5**0.5)
    assert spans["efficiency/ds/_model_/entropy/ratio"][1] == "1.22x"
    assert spans["efficiency/ds/_model_/entropy/final_mean"][0] == pytest.approx(0.65)
    assert spans["efficiency/ds/_model_/entropy/failure"] == (0.0, "no")
    assert spans["efficiency/ds/_model_/random/failure"] == (0.0, "no")
    assert "efficiency/ds/_model_/random/ratio" not in spans  # the baseline shows no ratio
    assert "ds/&lt;model&gt;" in efficiency_table(table)


# --- the command line's one-line errors --------------------------------------------------------


def test_a_missing_tracking_database_is_one_line_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "nothing.db"
    code = report_main(
        ["--tracking-uri", f"sqlite:///{db}", "--experiment", "x", "--out", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [f"raysweep.report: error: no tracking database at sqlite:///{db}"]
    assert sorted(tmp_path.iterdir()) == []


def test_unknown_experiment_and_ambiguous_sweep_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("e")
    for _ in range(2):
        client.create_run(experiment, run_name="s", tags={"raysweep.role": "sweep"})
    out = str(tmp_path / "out")

    def error_lines(argv: list[str]) -> list[str]:
        assert report_main(["--tracking-uri", uri, *argv, "--out", out]) == 2
        # in-process, MLflow's own log lines share stderr; the command prints one line
        return [line for line in capsys.readouterr().err.splitlines() if "raysweep" in line]

    assert error_lines(["--experiment", "nope"]) == [
        "raysweep.report: error: no MLflow experiment named 'nope'"
    ]
    (line,) = error_lines(["--experiment", "e"])
    assert "has 2 sweeps" in line and "--parent-run" in line
    (line,) = error_lines(["--experiment", "e", "--parent-run", "abc"])
    assert "'abc' is not a sweep's parent run" in line
    assert not Path(out).exists()


# --- a finished sweep: the report as written, logged and rendered -------------------------------


def _parent(sweep: FinishedSweep) -> tuple[MlflowClient, object]:
    client = MlflowClient(sweep.tracking_uri)
    experiment = client.get_experiment_by_name(sweep.experiment)
    (parent,) = client.search_runs(
        [experiment.experiment_id], filter_string="tags.`raysweep.role` = 'sweep'"
    )
    return client, parent


@pytest.mark.slow
def test_the_sweep_logs_its_report_and_the_command_writes_it_again(
    finished_smoke_sweep: FinishedSweep, tmp_path: Path
) -> None:
    client, parent = _parent(finished_smoke_sweep)
    logged = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert "report/index.html" in logged  # the driver's own call at the end of the sweep
    out = tmp_path / "report"
    done = subprocess.run(
        [
            sys.executable, "-m", "raysweep.report",
            "--tracking-uri", finished_smoke_sweep.tracking_uri,
            "--experiment", finished_smoke_sweep.experiment,
            "--sweep", "smoke", "--out", str(out),
        ],
        env=subprocess_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    pngs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert pngs == [
        "curves/shapes__tiny_cnn-random_init.png",
        "upsampling/shapes__tiny_cnn-random_init.png",
    ]
    assert all((out / p).read_bytes()[:8] == PNG_MAGIC for p in pngs)
    curves = {a.path for a in client.list_artifacts(parent.info.run_id, "report/curves")}
    assert curves == {"report/curves/shapes__tiny_cnn-random_init.png"}


@pytest.mark.slow
@pytest.mark.system_packages("chromium")
def test_the_page_renders_its_images_and_the_parent_runs_numbers(
    finished_smoke_sweep: FinishedSweep, tmp_path: Path
) -> None:
    client, parent = _parent(finished_smoke_sweep)
    settings = ReportSettings()  # the smoke job's objective: test/worst_group_accuracy, max
    page = write_report(client, parent, tmp_path / "report", settings)
    # self-contained: no file or URL is referenced, every figure is inline
    text = page.read_text()
    assert not re.search(r"""(src|href)=["'](?!data:)""", text)
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace("</body>", IMAGE_PROBE + "</body>"))
    shutil.rmtree(tmp_path / "report" / "curves")  # a page that still needed them would break
    dom = dump_dom(probe.as_uri())
    images = json.loads(re.search(r'<pre id="image-probe">(.*?)</pre>', dom, re.S).group(1))
    assert len(images) == 2  # one comparison group: its learning curves and its up-sampling
    assert all(complete and width > 0 and height > 0 for complete, width, height in images)
    # the rendered table's numbers are the parent run's efficiency metrics (the finite ones: an
    # undefined ratio is logged as NaN and shown in words), except the reference strategy's
    # ratio to itself (shown as "(baseline)", as in the text table)
    reference = "efficiency/shapes/tiny_cnn-random_init/random/ratio"
    logged = {
        k: v
        for k, v in parent.data.metrics.items()
        if k.startswith("efficiency/")
        and math.isfinite(v)
        and not k.endswith("/undefined")
        and not re.match(f"{reference}(_ci_low|_ci_high)?$", k)
    }
    shown = {key: value for key, value, _ in metric_spans(dom) if math.isfinite(value)}
    for strategy in ("random", "entropy"):  # both rows, each with its final metric and flag
        for column in ("final_mean", "auc_mean", "failure"):
            assert f"efficiency/shapes/tiny_cnn-random_init/{strategy}/{column}" in logged
    assert shown.keys() == logged.keys()
    for key, value in logged.items():
        assert shown[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    shot = screenshot(page.as_uri(), tmp_path / "report.png", height=1800)
    print(f"screenshot: {shot}")


@pytest.mark.slow
def test_upsampling_reads_every_round_the_trials_acquired(
    finished_smoke_sweep: FinishedSweep, tmp_path: Path
) -> None:
    """The per-round count metrics add up to each trial's acquisitions.parquet, group by group."""
    client, parent = _parent(finished_smoke_sweep)
    trials = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'",
    )
    assert len(trials) == 4
    for run in trials:
        table = pd.read_parquet(
            client.download_artifacts(run.info.run_id, "acquisitions.parquet", str(tmp_path))
        )
        from_parquet = table["group_name"].value_counts().to_dict()
        from_metrics = {}
        for key in run.data.metrics:
            if key.startswith("acquired/count/"):
                history = client.get_metric_history(run.info.run_id, key)
                from_metrics[key.removeprefix("acquired/count/")] = sum(m.value for m in history)
        nonzero = {g: n for g, n in from_metrics.items() if n}
        assert nonzero == pytest.approx(from_parquet), run.info.run_name


@pytest.mark.slow
def test_the_same_sweep_gives_the_same_page(
    finished_smoke_sweep: FinishedSweep, tmp_path: Path
) -> None:
    client, parent = _parent(finished_smoke_sweep)
    first = write_report(client, parent, tmp_path / "a", ReportSettings())
    second = write_report(client, parent, tmp_path / "b", ReportSettings())
    assert first.read_bytes() == second.read_bytes()
