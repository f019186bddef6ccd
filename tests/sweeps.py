"""Shared set-up for tests that run real sweeps through the command line in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import ray
import yaml
from conftest import REPO, subprocess_env
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from raysweep.service.cli import main

SMOKE = REPO / "jobs" / "smoke.yaml"
FAULT_DRIVER = Path(__file__).with_name("fault_driver.py")


def smoke_job(workdir: Path, **changes: Any) -> dict[str, Any]:
    """The smoke job with its tracking store and Tune state under ``workdir``, plus ``changes``."""
    job = yaml.safe_load(SMOKE.read_text())
    job["tracking"] = {"uri": f"sqlite:///{workdir / 'mlflow.db'}", "experiment": job["name"]}
    job["storage_path"] = str(workdir / "tune")
    job.update(changes)
    return job


def write_job(job: dict[str, Any], workdir: Path, name: str = "job.yaml") -> Path:
    file = workdir / name
    file.write_text(yaml.safe_dump(job))
    return file


def sweep_command(job_file: Path, *extra: str, kill_after_round: int | None = None) -> list[str]:
    """``python -m raysweep.run --job FILE ...``; with ``kill_after_round`` the test driver that
    SIGKILLs each trial's worker once, right after that round's checkpoint."""
    if kill_after_round is None:
        return [sys.executable, "-m", "raysweep.run", "--job", str(job_file), *extra]
    markers = job_file.parent / "kill-markers"
    return [
        sys.executable, str(FAULT_DRIVER), str(kill_after_round), str(markers),
        "--job", str(job_file), *extra,
    ]  # fmt: skip


def run_sweep_cli(
    job_file: Path,
    *extra: str,
    cwd: Path | None = None,
    timeout: float = 600,
    kill_after_round: int | None = None,
    **env: str,
) -> subprocess.CompletedProcess:
    """Run the CLI to completion; stdout and stderr are captured as text."""
    return subprocess.run(
        sweep_command(job_file, *extra, kill_after_round=kill_after_round),
        cwd=cwd or job_file.parent,
        env=subprocess_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_cli_in_process(
    job_file: Path,
    *extra: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> subprocess.CompletedProcess:
    """The CLI's own ``main`` in this process, in the job file's folder, for a run that must end
    before Ray starts (a dry run, a refused resume): a fresh interpreter costs 10-15 s of imports.
    Sweeps themselves run as subprocesses (``run_sweep_cli``)."""
    monkeypatch.chdir(job_file.parent)
    capsys.readouterr()
    code = main(["--job", str(job_file), *extra])
    captured = capsys.readouterr()
    assert not ray.is_initialized(), "Ray started: this run should have ended before"
    return subprocess.CompletedProcess([], code, captured.out, captured.err)


def runs_with_role(tracking_uri: str, experiment: str, role: str) -> list[Run]:
    """The ``trial`` (child) or ``sweep`` (parent) runs of an experiment."""
    client = MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r} in {tracking_uri}"
    return client.search_runs(
        [found.experiment_id], filter_string=f"tags.`raysweep.role` = '{role}'"
    )
