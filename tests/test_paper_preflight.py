"""Every job in jobs/paper/ passes the real preflight (``--check``) against data and weights
written in the releases' on-disk formats, relocated the way a user would: RAYSWEEP_DATA and
RAYSWEEP_MODELS, which the jobs' ``${VAR:-default}`` paths read."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers_paper_data import write_paper_data, write_paper_weights

from raysweep.service.cli import EXIT_BAD_INPUT, main
from raysweep.spec.job_file import load_job

REPO = Path(__file__).resolve().parents[1]
PAPER_JOBS = sorted((REPO / "jobs" / "paper").glob("*.yaml"))


@pytest.fixture(scope="module")
def paper_roots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("paper")
    return write_paper_data(base / "data"), write_paper_weights(base / "models")


@pytest.fixture
def relocated(paper_roots: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    data, models = paper_roots
    monkeypatch.setenv("RAYSWEEP_DATA", str(data))
    monkeypatch.setenv("RAYSWEEP_MODELS", str(models))
    yield


@pytest.mark.parametrize("job", PAPER_JOBS, ids=lambda path: path.stem)
def test_paper_job_passes_the_preflight(
    job: Path,
    paper_roots: tuple[Path, Path],
    relocated: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data, models = paper_roots
    loaded = load_job(job)
    # the environment moved every data root and weights path, and nothing else
    for dataset in loaded.datasets:
        assert Path(dataset.args["root_dir"]).parent in (data, data / "wilds")
    for model in loaded.models:
        if model.pretrained:
            assert Path(model.args["weights"]).is_relative_to(models)
    started = time.perf_counter()
    assert main(["--job", str(job), "--check"]) == 0, capsys.readouterr().err
    assert "preflight passed" in capsys.readouterr().out
    assert time.perf_counter() - started < 30  # one dataset build per distinct args


def test_relocated_jobs_fail_on_what_is_missing(
    paper_roots: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The same jobs against a folder without the data, or without the weights: one line each,
    naming the path that is missing."""
    data, models = paper_roots
    monkeypatch.setenv("RAYSWEEP_MODELS", str(models))
    monkeypatch.setenv("RAYSWEEP_DATA", str(tmp_path))
    (tmp_path / "wilds").mkdir()
    assert main(["--job", str(REPO / "jobs/paper/iwildcam.yaml"), "--check"]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert f"{tmp_path}/wilds/iwildcam_v2.0" in error and "dataset folder missing" in error

    monkeypatch.setenv("RAYSWEEP_DATA", str(data))
    monkeypatch.setenv("RAYSWEEP_MODELS", str(tmp_path))
    assert main(["--job", str(REPO / "jobs/paper/amazon.yaml"), "--check"]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert f"weights directory {tmp_path}/roberta-large does not exist" in error
