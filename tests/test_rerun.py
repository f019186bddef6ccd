"""Re-running a finished sweep changes nothing; a resume that would ignore a flag is refused."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from sweeps import run_cli_in_process, run_sweep_cli, runs_with_role, smoke_job, write_job

pytestmark = pytest.mark.slow


def _parent_state(workdir: Path) -> tuple[dict[str, float], list, int]:
    """The parent run's latest metrics, its label-efficiency table, and how many runs exist."""
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    (parent,) = runs_with_role(uri, "smoke", "sweep")
    client = MlflowClient(uri)
    table = json.loads(
        Path(
            client.download_artifacts(
                parent.info.run_id, "label_efficiency.json", str(workdir / "download")
            )
        ).read_text()
    )
    # NaN (an undefined ratio) is logged as NaN; None stands for it so that equality works
    metrics = {
        k: None if math.isnan(v) else v
        for k, v in parent.data.metrics.items()
        if k.startswith("efficiency/")
    }
    return metrics, table["data"], len(runs_with_role(uri, "smoke", "trial"))


def test_rerun_and_resume_flags(tmp_path: Path, monkeypatch, capsys) -> None:
    job_file = write_job(smoke_job(tmp_path, seeds=1), tmp_path)
    first = run_sweep_cli(job_file)
    assert first.returncode == 0, first.stderr[-3000:]
    metrics, table, n_runs = _parent_state(tmp_path)
    assert metrics and len(table) == 2 and n_runs == 2  # random + entropy, one seed

    again = run_sweep_cli(job_file)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _parent_state(tmp_path) == (metrics, table, n_runs), (
        "a rerun of a finished sweep must leave exactly the same values and one copy of the table"
    )

    for flag, value, fragment in [
        ("--max-concurrent", "1", "started with max_concurrent 2"),
        ("--tracking-uri", f"sqlite:///{tmp_path / 'other.db'}", "started with tracking URI"),
    ]:
        refused = run_cli_in_process(
            job_file, "--resume", flag, value, monkeypatch=monkeypatch, capsys=capsys
        )  # ends before Ray starts (run_cli_in_process checks that)
        assert refused.returncode == 2, refused.stderr[-3000:]
        errors = [x for x in refused.stderr.splitlines() if x.startswith("raysweep: error:")]
        assert len(errors) == 1 and fragment in errors[0], refused.stderr
    assert not (tmp_path / "other.db").exists()
    assert _parent_state(tmp_path) == (metrics, table, n_runs)
