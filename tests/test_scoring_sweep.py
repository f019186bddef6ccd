"""A real Tune sweep scoring on Ray Data: 2 concurrent trials on this 2-CPU machine complete (the
actors sit in each trial's placement group), and they acquire exactly what local scoring does."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import FinishedSweep
from mlflow.tracking import MlflowClient
from sweeps import run_sweep_cli, smoke_job, write_job

pytestmark = pytest.mark.slow


def _acquisitions(tracking_uri: str) -> dict[str, pd.DataFrame]:
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("smoke")
    runs = client.search_runs(
        [experiment.experiment_id], filter_string="tags.`raysweep.role` = 'trial'"
    )
    tables = {}
    with tempfile.TemporaryDirectory() as into:
        for run in runs:
            assert run.info.status == "FINISHED"
            file = client.download_artifacts(run.info.run_id, "acquisitions.parquet", into)
            key = f"{run.data.tags['strategy']}-{run.data.tags['seed']}"
            tables[key] = pd.read_parquet(file)[["index", "round", "rank", "score"]]
    return tables


def test_two_concurrent_trials_score_on_ray_data_and_match_local(
    tmp_path: Path, finished_smoke_sweep: FinishedSweep
) -> None:
    """The local side is the session's smoke sweep (local scoring, 1 CPU per trial), whose seed-0
    trials are these two: the trial's resources change neither its threads nor its numbers."""
    job = smoke_job(
        tmp_path,
        strategies=["entropy", "random"],
        seeds=1,
        max_concurrent=2,
        resources={"cpus": 0.5, "gpus": 0},  # + 0.5 CPU for the actor: 2 trials on 2 CPUs
        scoring={"backend": "ray_data", "actors": 1, "cpus_per_actor": 0.5},
    )
    done = run_sweep_cli(write_job(job, tmp_path), timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    ray_data = _acquisitions(f"sqlite:///{tmp_path / 'mlflow.db'}")
    local = _acquisitions(finished_smoke_sweep.tracking_uri)
    assert sorted(ray_data) == ["entropy-0", "random-0"]
    for trial, table in ray_data.items():
        assert len(table) == 30  # budget 40 - seed set 10
        pd.testing.assert_frame_equal(table, local[trial])
