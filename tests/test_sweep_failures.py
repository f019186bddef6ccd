"""A trial that fails for good is recorded as a FAILED MLflow run; the sweep goes on and reports."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import FinishedSweep
from mlflow.tracking import MlflowClient
from sweeps import run_cli_in_process, run_sweep_cli, smoke_job, write_job

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_diverging_trials_fail_alone_without_retries(tmp_path: Path) -> None:
    job = smoke_job(tmp_path, name="failures", seeds=1)
    job["tracking"]["experiment"] = "failures"
    job["max_failures"] = 2  # for crashes: a divergence recurs identically, so it is not retried
    # lr 1e12 makes the training loss infinite at step 2: a genuine runtime failure
    job["search"]["space"] = {"train.lr": [0.01, 1.0e12]}
    result = run_sweep_cli(write_job(job, tmp_path))
    assert result.returncode == 1, result.stderr[-3000:]  # some trials failed: not a success
    assert "raysweep: 2 trial(s) failed:" in result.stderr
    failure_lines = [line for line in result.stderr.splitlines() if "lower train.lr" in line]
    assert len(failure_lines) == 2
    assert "traceback.txt" in result.stderr
    # Tune saw no exception, so it retried nothing (a retried trial leaves an error.txt)
    assert not list((tmp_path / "tune").rglob("error.txt"))
    assert result.stdout.count("| FAILED ") == 2
    assert "Label efficiency" in result.stdout
    # the healthy group is reported as soon as its trials end; the failed one has nothing to report
    assert "all trials of shapes/tiny_cnn-random_init/lr=0.01 done" in result.stdout
    assert result.stdout.count("[raysweep] all trials of") == 1

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("failures")
    runs = client.search_runs(
        [experiment.experiment_id], filter_string="tags.`raysweep.role` = 'trial'"
    )
    by_lr = {}
    for run in runs:
        by_lr.setdefault(float(run.data.params["train.lr"]), []).append(run)
    assert sorted(by_lr) == [0.01, 1.0e12]
    assert len(by_lr[1.0e12]) == 2, (
        "one run per trial (strategies random and entropy), retries included"
    )
    for run in by_lr[1.0e12]:
        assert run.info.status == "FAILED"
        assert run.data.tags["raysweep.failure"] == "FloatingPointError"
        assert "lower train.lr" in run.data.tags["raysweep.error"]
        traceback_text = client.download_artifacts(run.info.run_id, "traceback.txt", str(tmp_path))
        assert "FloatingPointError" in Path(traceback_text).read_text()
    assert all(run.info.status == "FINISHED" for run in by_lr[0.01]), "the healthy cells still ran"
    parent = client.search_runs(
        [experiment.experiment_id], filter_string="tags.`raysweep.role` = 'sweep'"
    )
    assert len(parent) == 1
    assert parent[0].data.tags["raysweep.failure_cases"]  # marked, or "none"
    efficiency = [key for key in parent[0].data.metrics if key.startswith("efficiency/")]
    assert efficiency and all("lr_0.01" in key for key in efficiency), efficiency


def test_a_sweep_whose_trials_all_fail_exits_non_zero(tmp_path: Path) -> None:
    job = smoke_job(tmp_path, name="all_fail", seeds=1, strategies=["random"])
    job["train"]["lr"] = 1.0e12
    result = run_sweep_cli(write_job(job, tmp_path))
    assert result.returncode == 1, result.stderr[-3000:]
    assert "raysweep: 1 trial(s) failed:" in result.stderr
    assert "(no finished trials to compare)" in result.stdout


def test_a_changed_job_does_not_resume_into_an_old_sweep(
    finished_smoke_sweep: FinishedSweep, tmp_path: Path, monkeypatch, capsys
) -> None:
    """Same name and storage path but other trials: refused before Ray starts, store untouched.

    The old sweep is the session's smoke sweep; the changed job is the smoke job with 3 seeds."""
    old = finished_smoke_sweep
    job = yaml.safe_load((REPO / "jobs" / "smoke.yaml").read_text())
    job["seeds"] = 3  # a different sweep under the same name
    job_file = write_job(job, tmp_path)
    client = MlflowClient(old.tracking_uri)
    experiment = client.get_experiment_by_name(old.experiment)
    runs_before = {
        r.info.run_id: r.info.end_time for r in client.search_runs([experiment.experiment_id])
    }
    storage_before = sorted(str(p.relative_to(old.storage)) for p in old.storage.rglob("*"))

    second = run_cli_in_process(
        job_file,
        "--resume", "--tracking-uri", old.tracking_uri, "--storage-path", str(old.storage),
        monkeypatch=monkeypatch,
        capsys=capsys,
    )  # fmt: skip
    assert second.returncode == 2, second.stderr[-3000:]
    error_lines = [
        line for line in second.stderr.splitlines() if line.startswith("raysweep: error:")
    ]
    assert len(error_lines) == 1 and "started from a different job" in error_lines[0]
    runs_after = {
        r.info.run_id: r.info.end_time for r in client.search_runs([experiment.experiment_id])
    }
    assert runs_after == runs_before
    assert sorted(str(p.relative_to(old.storage)) for p in old.storage.rglob("*")) == (
        storage_before
    )
