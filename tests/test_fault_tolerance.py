"""Fault injection: a killed trial worker resumes from its last round; a killed driver resumes.

Real components throughout: the standalone driver starts a real local Ray, trials log to a real
MLflow sqlite store, and processes are killed with SIGKILL (no exception, no cleanup).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "jobs" / "smoke.yaml"
EXPECTED_STEPS = [
    10,
    20,
    30,
    40,
]  # smoke recipe: seed 10, batches of 10, budget 40, eval every round
METRIC = "test/accuracy"

pytestmark = pytest.mark.slow


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "HF_HUB_OFFLINE": "1", **extra}
    env.pop("RAY_ADDRESS", None)
    return env


def _sweep_command(workdir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "raysweep.run",
        "--job",
        str(SMOKE),
        "--tracking-uri",
        f"sqlite:///{workdir / 'mlflow.db'}",
        "--storage-path",
        str(workdir / "tune"),
        *extra,
    ]


def _trial_runs(workdir: Path) -> list:
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("smoke")
    return client.search_runs(
        [experiment.experiment_id], filter_string="tags.`raysweep.role` = 'trial'"
    )


def _outcomes(workdir: Path) -> dict[tuple[str, str], tuple[list[int], list[tuple[int, float]]]]:
    """(strategy, seed) -> (acquired indices in order, metric history as (step, value))."""
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    outcomes = {}
    for run in _trial_runs(workdir):
        path = client.download_artifacts(
            run.info.run_id, "acquisitions.parquet", str(workdir / run.info.run_id)
        )
        acquired = pd.read_parquet(path).sort_values(["round", "rank"])["index"].tolist()
        history = sorted(
            (m.step, m.value) for m in client.get_metric_history(run.info.run_id, METRIC)
        )
        outcomes[(run.data.tags["strategy"], run.data.tags["seed"])] = (acquired, history)
    return outcomes


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    workdir = tmp_path_factory.mktemp("clean")
    subprocess.run(
        _sweep_command(workdir),
        cwd=workdir,
        env=_env(),
        check=True,
        capture_output=True,
        timeout=600,
    )
    return _outcomes(workdir)


def test_killed_worker_resumes_from_last_round(tmp_path: Path, uninterrupted: dict) -> None:
    markers = tmp_path / "markers"
    result = subprocess.run(
        _sweep_command(tmp_path),
        cwd=tmp_path,
        env=_env(RAYSWEEP_FAULT_KILL_AFTER_ROUND=f"1:{markers}"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    killed = list(markers.glob("*.killed"))
    assert len(killed) == 4, "every trial's worker was killed once after round 1"
    runs = _trial_runs(tmp_path)
    assert len(runs) == 4, "a retried trial continues its own MLflow run"
    assert all(run.info.status == "FINISHED" for run in runs)
    # resumed from the round-1 checkpoint, not from zero: rounds 0 and 1 trained once per trial
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    for run in runs:
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "n_labels")]
        assert sorted(steps) == EXPECTED_STEPS
    progress = list((tmp_path / "tune").rglob("progress.csv"))
    assert progress, "Tune wrote per-trial progress"
    for file in progress:
        rounds = pd.read_csv(file)["round"].tolist()
        assert rounds == [0, 1, 2, 3], f"{file}: a retry re-reported earlier rounds: {rounds}"
    assert _outcomes(tmp_path) == uninterrupted


def test_killed_driver_resumes_to_identical_results(tmp_path: Path, uninterrupted: dict) -> None:
    driver = subprocess.Popen(
        _sweep_command(tmp_path),
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    try:
        # wait until some trial has checkpointed its second round, then kill everything at once
        while not list((tmp_path / "tune").rglob("checkpoint_000001")):
            assert driver.poll() is None, "the sweep ended before it could be interrupted"
            assert time.monotonic() < deadline, "no trial reached round 2"
            time.sleep(0.5)
    finally:
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()
    time.sleep(3)  # let the orphaned local Ray notice its driver is gone
    unfinished = [r for r in _trial_runs(tmp_path) if r.info.status != "FINISHED"]
    assert unfinished, "the kill interrupted at least one trial"

    resumed = subprocess.run(
        _sweep_command(tmp_path, "--resume"),
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    runs = _trial_runs(tmp_path)
    assert len(runs) == 4, "exactly one MLflow run per trial after the resume"
    assert all(run.info.status == "FINISHED" for run in runs)
    outcomes = _outcomes(tmp_path)
    for key, (_, history) in outcomes.items():
        assert [step for step, _ in history] == EXPECTED_STEPS, (
            f"{key}: curve has gaps or duplicates"
        )
    assert outcomes == uninterrupted
