"""Fault injection: a killed trial worker resumes from its last round; a killed driver resumes.

Real components throughout: the standalone driver starts a real local Ray, trials log to a real
MLflow sqlite store, and processes are killed with SIGKILL (no exception, no cleanup). The
uninterrupted reference is the session's smoke sweep (the same job, run with other tracking and
storage paths): where a sweep is stored must not change what it selects either.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import FinishedSweep, subprocess_env
from mlflow.tracking import MlflowClient
from sweeps import run_sweep_cli, runs_with_role, smoke_job, sweep_command, write_job

EXPECTED_STEPS = list(range(10, 50, 10))  # seed 10, batches of 10, budget 40, eval every round
METRIC = "test/accuracy"
KILL_DELAY_S = 1.0  # after one trial finished: the others are mid-way for seconds more

pytestmark = pytest.mark.slow


def _job_file(workdir: Path) -> Path:
    """The smoke job (4 rounds per trial, 2 at a time) with its store and state under workdir."""
    return write_job(smoke_job(workdir), workdir)


def _uri(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'mlflow.db'}"


def _trial_runs(workdir: Path) -> list:
    return runs_with_role(_uri(workdir), "smoke", "trial")


def _outcomes(
    uri: str, download: Path
) -> dict[tuple[str, str], tuple[list[int], list[tuple[int, float]]]]:
    """(strategy, seed) -> (acquired indices in order, metric history as (step, value))."""
    client = MlflowClient(uri)
    outcomes = {}
    for run in runs_with_role(uri, "smoke", "trial"):
        target = download / run.info.run_id
        target.mkdir(parents=True, exist_ok=True)
        path = client.download_artifacts(run.info.run_id, "acquisitions.parquet", str(target))
        acquired = pd.read_parquet(path).sort_values(["round", "rank"])["index"].tolist()
        history = sorted(
            (m.step, m.value) for m in client.get_metric_history(run.info.run_id, METRIC)
        )
        outcomes[(run.data.tags["strategy"], run.data.tags["seed"])] = (acquired, history)
    return outcomes


def _one_finished_one_midway(workdir: Path) -> bool:
    """Read the store read-only with sqlite3: an MlflowClient would create tables under the driver."""
    store = workdir / "mlflow.db"
    if not store.exists():
        return False
    query = (
        "SELECT r.status FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
        "WHERE t.key = 'raysweep.role' AND t.value = 'trial'"
    )
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
            statuses = [row[0] for row in db.execute(query)]
    except sqlite3.Error:  # tables not created yet, or locked for a moment
        return False
    midway = list((workdir / "tune").rglob("checkpoint_000001"))
    return "FINISHED" in statuses and "RUNNING" in statuses and bool(midway)


@pytest.fixture(scope="module")
def uninterrupted(
    finished_smoke_sweep: FinishedSweep, tmp_path_factory: pytest.TempPathFactory
) -> dict:
    outcomes = _outcomes(finished_smoke_sweep.tracking_uri, tmp_path_factory.mktemp("clean"))
    assert len(outcomes) == 4 and all(
        [step for step, _ in history] == EXPECTED_STEPS for _, history in outcomes.values()
    ), "the reference sweep is the smoke job: 4 trials, evaluated after every round"
    return outcomes


def test_killed_worker_resumes_from_last_round(tmp_path: Path, uninterrupted: dict) -> None:
    result = run_sweep_cli(_job_file(tmp_path), kill_after_round=1)
    assert result.returncode == 0, result.stderr[-3000:]
    killed = list((tmp_path / "kill-markers").glob("*.killed"))
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
        assert rounds == list(range(len(EXPECTED_STEPS))), (
            f"{file}: a retry re-reported rounds: {rounds}"
        )
    assert _outcomes(_uri(tmp_path), tmp_path) == uninterrupted


def test_killed_driver_resumes_to_identical_results(tmp_path: Path, uninterrupted: dict) -> None:
    job_file = _job_file(tmp_path)
    driver = subprocess.Popen(
        sweep_command(job_file),
        cwd=tmp_path,
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    try:
        # kill everything at once as soon as one trial has finished and another is mid-way
        while not _one_finished_one_midway(tmp_path):
            assert driver.poll() is None, "the sweep ended before it could be interrupted"
            assert time.monotonic() < deadline, "no trial finished"
            time.sleep(0.2)
        # not in the very moment Tune saves its state for the trial that just ended: a kill
        # inside that copy cuts the file off, which a resume refuses (tests/test_tune_state.py)
        time.sleep(KILL_DELAY_S)
    finally:
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()
    time.sleep(3)  # let the orphaned local Ray notice its driver is gone
    before = _trial_runs(tmp_path)
    unfinished = [r for r in before if r.info.status != "FINISHED"]
    assert unfinished, "the kill interrupted at least one trial"
    assert len(unfinished) < len(before) or len(before) < 4, "at least one trial finished first"
    finished_end_times = {
        r.info.run_id: r.info.end_time for r in before if r.info.status == "FINISHED"
    }

    resumed = run_sweep_cli(job_file, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    runs = _trial_runs(tmp_path)
    assert len(runs) == 4, "exactly one MLflow run per trial after the resume"
    assert all(run.info.status == "FINISHED" for run in runs)
    for run in runs:  # trials finished before the kill were not run again
        if run.info.run_id in finished_end_times:
            assert run.info.end_time == finished_end_times[run.info.run_id]
    outcomes = _outcomes(_uri(tmp_path), tmp_path)
    for key, (_, history) in outcomes.items():
        assert [step for step, _ in history] == EXPECTED_STEPS, (
            f"{key}: curve has gaps or duplicates"
        )
    assert outcomes == uninterrupted
