"""The Optuna path: n configurations per cell, each run for every seed, best configuration recorded."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from sweeps import run_cli_in_process, run_sweep_cli, smoke_job, write_job

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_optuna_runs_n_times_seeds_and_records_best(tmp_path: Path, monkeypatch, capsys) -> None:
    n_configs, seeds = 2, [0, 1]
    job = smoke_job(
        tmp_path,
        name="optuna",
        strategies=["random"],
        seeds=seeds,
        recipe={"seed_size": 10, "first_batch": 10, "budget": 30, "eval_every": 1},
        search={
            "space": {"train.lr": {"distribution": "loguniform", "low": 0.001, "high": 0.1}},
            "n_trials": n_configs,
            "objective": {"metric": "val/accuracy", "summary": "auc", "mode": "max"},
        },
        tracking={"uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "experiment": "optuna"},
    )
    job_file = write_job(job, tmp_path, "optuna.yaml")

    dry = run_cli_in_process(job_file, "--dry-run", monkeypatch=monkeypatch, capsys=capsys)
    assert dry.returncode == 0, dry.stderr
    assert f"{n_configs * len(seeds)} trials" in dry.stdout

    result = run_sweep_cli(job_file)
    assert result.returncode == 0, result.stderr[-3000:]

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("optuna")
    runs = client.search_runs(
        [experiment.experiment_id], filter_string="tags.`raysweep.role` = 'trial'"
    )
    assert len(runs) == n_configs * len(seeds)
    by_lr: dict[float, list] = {}
    for run in runs:
        by_lr.setdefault(float(run.data.params["train.lr"]), []).append(run)
    assert len(by_lr) == n_configs, "each Optuna configuration was run..."
    for lr, group in by_lr.items():
        assert 0.001 <= lr <= 0.1
        assert sorted(int(r.data.tags["seed"]) for r in group) == seeds, "...once for every seed"

    # the best configuration is the one with the highest seed-mean objective (AUC of val/accuracy)
    def auc(run_id: str) -> float:
        history = sorted(
            (m.step, m.value) for m in client.get_metric_history(run_id, "val/accuracy")
        )
        area = sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in itertools.pairwise(history))
        return area / (history[-1][0] - history[0][0])

    means = {lr: sum(auc(r.info.run_id) for r in group) / len(group) for lr, group in by_lr.items()}
    best_lr = max(means, key=means.get)
    for lr, group in by_lr.items():
        assert {r.data.tags["raysweep.best"] for r in group} == {
            "true" if lr == best_lr else "false"
        }
    parent = client.search_runs(
        [experiment.experiment_id], filter_string="tags.`raysweep.role` = 'sweep'"
    )[0]
    artifacts = [a.path for a in client.list_artifacts(parent.info.run_id, "best_configs")]
    assert len(artifacts) == 1
    summary = json.loads(
        Path(client.download_artifacts(parent.info.run_id, artifacts[0], str(tmp_path))).read_text()
    )
    assert summary["best"]["train.lr"] == pytest.approx(best_lr)
    assert summary["objective_mean"] == pytest.approx(means[best_lr], abs=1e-9)


def test_a_repeated_optuna_configuration_gets_its_own_runs(tmp_path: Path) -> None:
    """One categorical value: Optuna proposes the same configuration twice."""
    job = smoke_job(
        tmp_path,
        name="repeat",
        strategies=["random"],
        seeds=[0],
        recipe={"seed_size": 10, "first_batch": 10, "budget": 20, "eval_every": 1},
        search={
            "space": {"train.lr": {"distribution": "categorical", "values": [0.01]}},
            "n_trials": 2,
            "objective": {"metric": "val/accuracy", "summary": "auc", "mode": "max"},
        },
    )
    job["tracking"]["experiment"] = "repeat"
    result = run_sweep_cli(write_job(job, tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("repeat")
    runs = client.search_runs(
        [experiment.experiment_id], filter_string="tags.`raysweep.role` = 'trial'"
    )
    assert len(runs) == 2, "two trials with one configuration: two runs, not one shared"
    assert len({run.data.tags["raysweep.trial_id"] for run in runs}) == 2
    assert sorted(run.data.tags["raysweep.best"] for run in runs) == ["false", "true"]
    assert "Label efficiency" in result.stdout  # the report did not fail on a duplicated seed
