"""A resume refuses, in one line and before Ray starts, a study whose saved Tune state is cut off.

Tune copies its experiment state into the storage path in place; a driver killed during that copy
leaves a cut-off file (seen in CI: 0 bytes), from which Tune 2.60 silently restores no trials.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sweeps import run_cli_in_process, smoke_job, write_job

from raysweep.errors import ConfigError
from raysweep.service.tune_state import check_tune_states
from raysweep.spec.job_file import load_job

WHOLE = '{"trial_data": [], "runner_data": {}, "stats": {"start_time": 1.0}}'


def _study_with_state(tmp_path: Path, *states: str) -> tuple[Path, Path]:
    """The smoke job, and its study folder holding a tuner.pkl and these experiment states
    (oldest first, as Tune names them by start time)."""
    job_file = write_job(smoke_job(tmp_path), tmp_path)
    folder = tmp_path / "tune" / "smoke"  # storage_path / the study (the job's name)
    folder.mkdir(parents=True)
    (folder / "tuner.pkl").write_bytes(b"tune's pickled tuner")
    for hour, text in enumerate(states):
        (folder / f"experiment_state-2026-12-08_0{hour}-00-00.json").write_text(text)
    return job_file, folder


@pytest.mark.parametrize(
    ("newest", "problem"),
    [("", "is empty"), (WHOLE[:40], "is cut off after 40 bytes"), ("[]", "no trial_data")],
)
def test_a_cut_off_state_is_refused_naming_the_file(tmp_path, newest, problem):
    job_file, folder = _study_with_state(tmp_path, WHOLE, newest)
    with pytest.raises(ConfigError) as refused:
        check_tune_states(load_job(job_file))
    message = str(refused.value)
    assert problem in message and "experiment_state-2026-12-08_01-00-00.json" in message
    assert str(folder) in message and "\n" not in message


def test_a_whole_state_a_new_study_and_a_study_killed_before_its_first_save_pass(tmp_path):
    job_file, folder = _study_with_state(tmp_path, "", WHOLE)  # only the newest counts
    check_tune_states(load_job(job_file))
    for state in folder.glob("experiment_state-*.json"):
        state.unlink()
    check_tune_states(load_job(job_file))  # tuner.pkl but no state yet: Tune starts afresh
    (folder / "tuner.pkl").unlink()
    check_tune_states(load_job(job_file))


def test_the_cli_refuses_before_ray_and_changes_nothing(tmp_path, monkeypatch, capsys):
    job_file, folder = _study_with_state(tmp_path, "")
    before = sorted((p.name, p.stat().st_size) for p in folder.iterdir())
    refused = run_cli_in_process(job_file, "--resume", monkeypatch=monkeypatch, capsys=capsys)
    assert refused.returncode == 2, refused.stderr
    errors = [line for line in refused.stderr.splitlines() if line.startswith("raysweep: error:")]
    assert len(errors) == 1 and "Tune's saved state" in errors[0], refused.stderr
    assert sorted((p.name, p.stat().st_size) for p in folder.iterdir()) == before
    assert not (tmp_path / "mlflow.db").exists(), "nothing was written to the tracking store"
