"""Re-running a finished sweep changes nothing; a resume that would ignore a flag is refused."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from conftest import REPO, FinishedSweep
from mlflow.tracking import MlflowClient
from sweeps import run_cli_in_process, run_sweep_cli, runs_with_role

pytestmark = pytest.mark.slow


def _parent_state(uri: str, download: Path) -> tuple[dict[str, float], list, int]:
    """The parent run's latest metrics, its label-efficiency table, and how many runs exist."""
    (parent,) = runs_with_role(uri, "smoke", "sweep")
    client = MlflowClient(uri)
    download.mkdir(parents=True, exist_ok=True)
    table = json.loads(
        Path(
            client.download_artifacts(parent.info.run_id, "label_efficiency.json", str(download))
        ).read_text()
    )
    # NaN (an undefined ratio) is logged as NaN; None stands for it so that equality works
    metrics = {
        k: None if math.isnan(v) else v
        for k, v in parent.data.metrics.items()
        if k.startswith("efficiency/")
    }
    return metrics, table["data"], len(runs_with_role(uri, "smoke", "trial"))


def test_rerun_and_resume_flags(
    finished_smoke_sweep: FinishedSweep, tmp_path: Path, monkeypatch, capsys
) -> None:
    """The session's finished smoke sweep run again changes nothing; resumes that would ignore a
    changed flag are refused before Ray starts (and so change nothing either)."""
    done = finished_smoke_sweep
    job_file = tmp_path / "smoke.yaml"
    shutil.copy(REPO / "jobs" / "smoke.yaml", job_file)  # the same job, read from a scratch folder
    where = ("--tracking-uri", done.tracking_uri, "--storage-path", str(done.storage))
    metrics, table, n_runs = _parent_state(done.tracking_uri, tmp_path / "before")
    assert metrics and len(table) == 2 and n_runs == 4  # random + entropy, two seeds

    again = run_sweep_cli(job_file, *where)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _parent_state(done.tracking_uri, tmp_path / "again") == (metrics, table, n_runs), (
        "a rerun of a finished sweep must leave exactly the same values and one copy of the table"
    )

    other = f"sqlite:///{tmp_path / 'other.db'}"
    for extra, fragment in [
        (("--max-concurrent", "1", *where), "started with max_concurrent 2"),
        (
            ("--tracking-uri", other, "--storage-path", str(done.storage)),
            "started with tracking URI",
        ),
    ]:
        refused = run_cli_in_process(
            job_file, "--resume", *extra, monkeypatch=monkeypatch, capsys=capsys
        )  # ends before Ray starts (run_cli_in_process checks that)
        assert refused.returncode == 2, refused.stderr[-3000:]
        errors = [x for x in refused.stderr.splitlines() if x.startswith("raysweep: error:")]
        assert len(errors) == 1 and fragment in errors[0], refused.stderr
    assert not (tmp_path / "other.db").exists()
    assert _parent_state(done.tracking_uri, tmp_path / "after") == (metrics, table, n_runs)
