"""The whole sweep service, end to end, on real components.

1. ``jobs/smoke.yaml`` submitted to a real Ray cluster (``ray start --head`` + the job submission
   API), logging to a real ``mlflow server`` (sqlite backend): what production looks like.
2. The same job run standalone (``python -m raysweep.run``; it starts its own local Ray), logging to a
   ``sqlite:///`` store: what a laptop run looks like.

Results are read back only through ``MlflowClient`` (MLflow is the source of truth), never parsed
from stdout; the logs are checked for the progress lines and the final table a user reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from conftest import ClusterSweep, FinishedSweep
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.slow

EXPERIMENT = "smoke"  # tracking.experiment of jobs/smoke.yaml
METRIC = "test/worst_group_accuracy"
STRATEGIES = ("random", "entropy")
SEEDS = (0, 1)
LABEL_STEPS = [10, 20, 30, 40]  # seed_size 10, batches of 10, budget 40, eval_every 1


@dataclass(frozen=True)
class SweepRun:
    tracking_uri: str
    logs: str  # the driver's stdout + stderr
    workdir: Path  # the driver's working directory
    storage: Path  # --storage-path
    trial_actors: int = 0  # Tune trainable actors the cluster ran (cluster run only)


@pytest.fixture(scope="module")
def cluster_sweep(cluster_smoke_sweep: ClusterSweep) -> SweepRun:
    """The smoke sweep as a Ray job on the cluster, tracked on the MLflow server: the session's
    shared run (conftest), whose metrics test_dashboards reads."""
    run = cluster_smoke_sweep
    return SweepRun(run.tracking_uri, run.logs, run.workdir, run.storage, run.trial_actors)


@pytest.fixture(scope="module")
def standalone_sweep(finished_smoke_sweep: FinishedSweep) -> SweepRun:
    """The smoke sweep run standalone (own local Ray), tracked in a sqlite store: the session's
    shared run (conftest), the same command this module's cluster job runs."""
    run = finished_smoke_sweep
    return SweepRun(run.tracking_uri, run.stdout + run.stderr, run.workdir, run.storage)


# ------------------------------------------------------------------------------------- checks
def _parent_and_children(run: SweepRun):
    client = MlflowClient(run.tracking_uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None, f"no experiment {EXPERIMENT!r} at {run.tracking_uri}"
    parents = client.search_runs(
        [experiment.experiment_id], filter_string="tags.`raysweep.role` = 'sweep'"
    )
    assert len(parents) == 1, [p.info.run_id for p in parents]
    parent = parents[0]
    children = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'",
    )
    everything = client.search_runs([experiment.experiment_id])
    assert len(everything) == 1 + len(children), "runs outside the sweep's parent/child layout"
    return client, parent, children


def _check_children(client: MlflowClient, children, tmp_path: Path) -> None:
    assert len(children) == len(STRATEGIES) * len(SEEDS)
    trials = sorted((c.data.tags["strategy"], int(c.data.tags["seed"])) for c in children)
    assert trials == sorted((s, seed) for s in STRATEGIES for seed in SEEDS)
    for child in children:
        run_id, tags, params = child.info.run_id, child.data.tags, child.data.params
        assert child.info.status == "FINISHED", (run_id, child.info.status)
        assert tags["raysweep.role"] == "trial"
        assert tags["dataset"] == "shapes" and tags["model"] == "tiny_cnn"
        # the job's hyperparameters, flattened, as run params
        assert float(params["train.lr"]) == pytest.approx(0.01)
        assert int(params["train.max_steps"]) == 30
        assert int(params["recipe.budget"]) == 40
        assert int(params["recipe.seed_size"]) == 10
        assert params["strategy"] == tags["strategy"] and params["seed"] == tags["seed"]

        # the curve is keyed by the number of labels, one point per round, no duplicates
        history = client.get_metric_history(run_id, METRIC)
        assert sorted(m.step for m in history) == LABEL_STEPS, (run_id, history)
        assert all(0.0 <= m.value <= 1.0 for m in history)

        artifacts = {a.path for a in client.list_artifacts(run_id)}
        assert {"acquisitions.parquet", "learning_curve.png"} <= artifacts, artifacts
        local = Path(client.download_artifacts(run_id, "acquisitions.parquet", str(tmp_path)))
        table = pd.read_parquet(local)
        assert {"index", "round", "score", "label", "group"} <= set(table.columns)
        assert len(table) == LABEL_STEPS[-1] - LABEL_STEPS[0]  # budget - seed set
        assert table["index"].is_unique, "a pool point was acquired twice"
        assert table.groupby("round").size().tolist() == [10, 10, 10]
        assert set(table["label"]) <= {0, 1}
        png = Path(client.download_artifacts(run_id, "learning_curve.png", str(tmp_path)))
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _check_parent(client: MlflowClient, parent, tmp_path: Path) -> None:
    assert parent.info.status == "FINISHED"
    efficiency = [k for k in parent.data.metrics if k.startswith("efficiency/")]
    assert efficiency, sorted(parent.data.metrics)
    assert any("/entropy/" in k for k in efficiency), efficiency
    assert "sweep/wall_seconds" in parent.data.metrics
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert "label_efficiency.csv" in artifacts, artifacts
    csv = client.download_artifacts(parent.info.run_id, "label_efficiency.csv", str(tmp_path))
    table = pd.read_csv(csv)
    assert sorted(table["strategy"]) == sorted(STRATEGIES)
    assert (table["n_seeds"] == len(SEEDS)).all()


def _check_logs(logs: str) -> None:
    assert "[raysweep]" in logs
    assert f"[raysweep] {len(STRATEGIES) * len(SEEDS)}/4 done" in logs, logs[-3000:]
    assert "Label efficiency on test/worst_group_accuracy" in logs, logs[-3000:]
    table = logs.split("Label efficiency on", 1)[1].splitlines()
    header = next(line for line in table if line.startswith("cell"))
    assert "strategy" in header and "ratio" in header
    rows = [line for line in table if line.startswith("shapes/tiny_cnn")]
    assert sorted(line.split()[1] for line in rows) == sorted(STRATEGIES), table[:8]
    assert _raysweep_tracebacks(logs) == []


def _raysweep_tracebacks(logs: str) -> list[str]:
    """Every traceback in a job's log except Ray's report of a worker that it SIGTERMs.

    When the job's driver exits, Ray terminates the job's remaining workers; a trial actor that
    is still finalizing (its trial reported and ended) prints the SystemExit that Ray's own
    SIGTERM handler raises. That is teardown after the results, not an error of the sweep.
    """
    blocks = logs.split("Traceback (most recent call last):")[1:]
    return [
        block[:2000]
        for block in blocks
        if not ("in sigterm_handler" in block and "SystemExit: 1" in block)
    ]


def _check_locations(run: SweepRun) -> None:
    """--tracking-uri and --storage-path override the job file: nothing lands in the cwd."""
    assert (run.storage / EXPERIMENT).is_dir(), list(run.storage.iterdir())
    assert not (run.workdir / "mlflow.db").exists()
    assert not (run.workdir / "ray_results").exists()


# -------------------------------------------------------------------------------------- tests
def test_cluster_job_records_every_trial_on_the_mlflow_server(cluster_sweep, tmp_path):
    assert cluster_sweep.tracking_uri.startswith("http://")
    client, parent, children = _parent_and_children(cluster_sweep)
    _check_children(client, children, tmp_path)
    _check_parent(client, parent, tmp_path)


def test_cluster_job_logs_progress_and_label_efficiency(cluster_sweep):
    # the driver joined the existing cluster (RAY_ADDRESS from the job) and its trials ran there
    assert "Connecting to existing Ray cluster" in cluster_sweep.logs
    assert cluster_sweep.trial_actors >= 1
    _check_logs(cluster_sweep.logs)
    _check_locations(cluster_sweep)


def test_standalone_sweep_records_every_trial_in_sqlite(standalone_sweep, tmp_path):
    assert standalone_sweep.tracking_uri.startswith("sqlite:///")
    client, parent, children = _parent_and_children(standalone_sweep)
    _check_children(client, children, tmp_path)
    _check_parent(client, parent, tmp_path)
    # a sqlite store keeps its artifacts beside the database, not in the driver's cwd
    store = Path(standalone_sweep.tracking_uri.removeprefix("sqlite:///")).parent
    assert (store / "mlartifacts").is_dir()
    assert "Started a local Ray instance" in standalone_sweep.logs
    _check_logs(standalone_sweep.logs)
    _check_locations(standalone_sweep)
