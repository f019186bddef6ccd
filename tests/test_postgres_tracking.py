"""The cluster's tracking stack for real: ``mlflow server`` on a PostgreSQL database.

A sweep runs against it, its driver is SIGKILLed once one trial has finished and another is mid-way,
and the same command with ``--resume`` completes it. Nothing may be lost or duplicated: one MLflow
run per trial (the interrupted ones continue their own run), every curve has each step exactly once,
finished trials are not re-run, and every trial's artifacts reached the server. The store is also
read directly with SQL, independently of MLflow's client.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from conftest import running_mlflow_server, short_tmp_dir, subprocess_env
from fixtures_postgres import PostgresServer, create_database, running_postgres
from mlflow.tracking import MlflowClient
from sweeps import run_sweep_cli, runs_with_role, smoke_job, sweep_command, write_job

from raysweep.tracking.layout import metric_key

pytestmark = [pytest.mark.slow, pytest.mark.system_packages("postgresql")]

DATABASE = "mlflow"
EXPERIMENT = "smoke"
EXPECTED_STEPS = list(range(10, 50, 10))  # the smoke job: seed 10, batches of 10, budget 40
CURVES = ("n_labels", "test/accuracy", "test/worst_group_accuracy")
KILL_DEADLINE_S = 300
KILL_DELAY_S = 1.0  # after one trial finished: the others are mid-way for seconds more
TRIAL_STATUSES = (
    "SELECT r.status FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
    "WHERE t.key = 'raysweep.role' AND t.value = 'trial'"
)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        create_database(server, DATABASE)
        yield server


@pytest.fixture(scope="module")
def tracking_server(postgres: PostgresServer) -> Iterator[str]:
    root = short_tmp_dir("rsmpg")
    with running_mlflow_server(postgres.sqlalchemy_uri(DATABASE), root) as url:
        yield url


def _query(postgres: PostgresServer, sql: str) -> list[tuple]:
    with psycopg.connect(postgres.dsn(DATABASE)) as connection:
        return connection.execute(sql).fetchall()


def _kill_driver_when(job_file: Path, ready: Callable[[], bool], *extra: str) -> None:
    """Start the sweep and SIGKILL its whole process group (driver and local Ray) once ``ready``."""
    driver = subprocess.Popen(
        sweep_command(job_file, *extra),
        cwd=job_file.parent,
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + KILL_DEADLINE_S
    try:
        while not ready():
            assert driver.poll() is None, "the sweep ended before it could be interrupted"
            assert time.monotonic() < deadline, "no trial finished in time"
            time.sleep(0.2)
        # not in the very moment Tune saves its state for the trial that just ended: a kill
        # inside that copy cuts the file off, which a resume refuses (tests/test_tune_state.py)
        time.sleep(KILL_DELAY_S)
    finally:
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()
    time.sleep(3)  # let the orphaned local Ray notice its driver is gone


def test_driver_kill_and_resume_lose_and_duplicate_nothing(
    tmp_path: Path, postgres: PostgresServer, tracking_server: str
) -> None:
    # 4 trials, 2 at a time: when the first finishes, the third has started
    job_file = write_job(smoke_job(tmp_path), tmp_path)
    to_server = ("--tracking-uri", tracking_server)

    def one_finished_one_midway() -> bool:
        statuses = [row[0] for row in _query(postgres, TRIAL_STATUSES)]
        midway = any((tmp_path / "tune").rglob("checkpoint_000001"))
        return "FINISHED" in statuses and "RUNNING" in statuses and midway

    _kill_driver_when(job_file, one_finished_one_midway, *to_server)
    before = runs_with_role(tracking_server, EXPERIMENT, "trial")
    finished_before = {
        r.info.run_id: r.info.end_time for r in before if r.info.status == "FINISHED"
    }
    assert finished_before and len(finished_before) < len(before), "killed mid-sweep"

    resumed = run_sweep_cli(job_file, *to_server, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    client = MlflowClient(tracking_server)
    runs = runs_with_role(tracking_server, EXPERIMENT, "trial")
    assert len(runs) == 4, "exactly one MLflow run per trial"
    assert {r.info.run_id for r in before} <= {r.info.run_id for r in runs}, (
        "interrupted trials continued their own runs"
    )
    assert sorted((r.data.tags["strategy"], r.data.tags["seed"]) for r in runs) == [
        ("entropy", "0"), ("entropy", "1"), ("random", "0"), ("random", "1"),
    ]  # fmt: skip
    assert all(r.info.status == "FINISHED" for r in runs)
    for run in runs:
        if run.info.run_id in finished_before:  # not re-run after the resume
            assert run.info.end_time == finished_before[run.info.run_id]
        for key in CURVES:
            steps = [m.step for m in client.get_metric_history(run.info.run_id, key)]
            assert sorted(steps) == EXPECTED_STEPS, f"{run.info.run_id} {key}: {sorted(steps)}"
        acquired = pd.read_parquet(
            client.download_artifacts(run.info.run_id, "acquisitions.parquet", str(tmp_path))
        )
        assert len(acquired) == EXPECTED_STEPS[-1] - EXPECTED_STEPS[0]
        assert acquired["index"].is_unique
        assert acquired.groupby("round").size().tolist() == [10] * (len(EXPECTED_STEPS) - 1)
    [parent] = runs_with_role(tracking_server, EXPERIMENT, "sweep")
    assert parent.info.status == "FINISHED"
    assert "label_efficiency.csv" in {a.path for a in client.list_artifacts(parent.info.run_id)}

    # the database itself, read with SQL: one parent and four trials, no step stored twice
    roles = _query(
        postgres,
        "SELECT t.value, COUNT(*) FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
        "WHERE t.key = 'raysweep.role' AND r.lifecycle_stage = 'active' GROUP BY t.value",
    )
    assert dict(roles) == {"sweep": 1, "trial": 4}
    # trials' curves only: the parent's efficiency/* metrics are snapshots re-logged at step 0
    # by design (a finished group's, then the final report's), MLflow shows the latest
    duplicated = _query(
        postgres,
        "SELECT m.run_uuid, m.key, m.step, COUNT(*) FROM metrics m JOIN tags t "
        "ON t.run_uuid = m.run_uuid AND t.key = 'raysweep.role' AND t.value = 'trial' "
        "GROUP BY m.run_uuid, m.key, m.step HAVING COUNT(*) > 1",
    )
    assert duplicated == [], f"metric steps logged twice: {duplicated[:5]}"
    # ... and the latest snapshot on the parent is the final table's
    final = pd.read_csv(
        client.download_artifacts(parent.info.run_id, "label_efficiency.csv", str(tmp_path))
    )
    latest = client.get_run(parent.info.run_id).data.metrics
    for row in final.to_dict("records"):
        key = metric_key(f"efficiency/{row['cell']}/{row['strategy']}/final_mean")
        assert latest[key] == pytest.approx(row["final_mean"]), key
    stored_steps = _query(
        postgres,
        "SELECT m.run_uuid, COUNT(*) FROM metrics m WHERE m.key = 'n_labels' GROUP BY m.run_uuid",
    )
    assert sorted(n for _, n in stored_steps) == [len(EXPECTED_STEPS)] * 4
