"""Two variants of one strategy in one job: each entry's own label and args, the label used in the
plan, the trial spec and the fingerprint; duplicate labels a one-line error before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import ray
import yaml
from conftest import REPO

from raysweep.service.cli import main
from raysweep.spec.job_file import load_job, parse_job
from raysweep.spec.plan import job_fingerprint
from raysweep.spec.trajectory import TrajectorySpec
from raysweep.strategies import create_strategy

SMOKE = REPO / "jobs" / "smoke.yaml"
VARIANTS = [
    "random",
    {"name": "epsilon_greedy", "label": "eps_0.05", "args": {"epsilon": 0.05, "base": "entropy"}},
    {"name": "epsilon_greedy", "label": "eps_0.2", "args": {"epsilon": 0.2, "base": "entropy"}},
]


@pytest.fixture(autouse=True)
def _scoped_env(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)


def _job(**changes: Any) -> dict[str, Any]:
    return {**yaml.safe_load(SMOKE.read_text()), **changes}


def _write(tmp_path: Path, job: dict[str, Any]) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(job, sort_keys=False))
    return path


def test_two_variants_of_one_wrapper_dry_run_with_both(tmp_path, capsys):
    store, storage = tmp_path / "mlflow.db", tmp_path / "tune"
    path = _write(tmp_path, _job(strategies=VARIANTS))
    argv = ["--job", str(path), "--dry-run", "--tracking-uri", f"sqlite:///{store}"]
    assert main([*argv, "--storage-path", str(storage)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("sweep smoke: 6 trials in 1 Tune study")  # 3 x 2 seeds
    job = load_job(path)
    assert job.strategies == ["random", "eps_0.05", "eps_0.2"]
    for cell in job.cells():
        assert f"{cell.cell_id}: seeds [0, 1]" in out
    assert "eps_0.2 = epsilon_greedy" in out and '"epsilon": 0.2' in out
    assert len({cell.cell_id for cell in job.cells()}) == 3
    assert not ray.is_initialized() and not store.exists() and not storage.exists()

    # each trial runs the registered strategy with its own args, and is known by its label
    built = {}
    for cell in job.cells():
        spec = TrajectorySpec.from_dict(cell.spec(0))
        assert spec.label == cell.strategy
        built[spec.label] = (spec.strategy, create_strategy(spec.strategy, spec.strategy_args))
    assert built["eps_0.2"][0] == built["eps_0.05"][0] == "epsilon_greedy"
    assert built["eps_0.2"][1].epsilon == 0.2 and built["eps_0.05"][1].epsilon == 0.05
    assert built["random"][0] == "random"
    plain = TrajectorySpec.from_dict(job.cells()[0].spec(0))
    assert plain.strategy_label == "" and "strategy_label" not in job.cells()[0].spec(0)


def test_labels_and_args_make_the_fingerprint():
    base = parse_job(_job(strategies=VARIANTS))
    other_args = [*VARIANTS[:2], {**VARIANTS[2], "args": {"epsilon": 0.3, "base": "entropy"}}]
    assert job_fingerprint(parse_job(_job(strategies=other_args))) != job_fingerprint(base)
    relabelled = [*VARIANTS[:2], {**VARIANTS[2], "label": "eps_high"}]
    assert job_fingerprint(parse_job(_job(strategies=relabelled))) != job_fingerprint(base)
    # a plain name written as an entry without a label is the plain name
    as_entry = parse_job(_job(strategies=["random", {"name": "entropy"}]))
    assert job_fingerprint(as_entry) == job_fingerprint(parse_job(_job()))
    assert as_entry.strategy_names == {} and as_entry.strategies == ["random", "entropy"]


def test_a_label_can_be_the_reference():
    job = parse_job(_job(strategies=VARIANTS, reference_strategy="eps_0.05"))
    assert job.reference_strategy == "eps_0.05"


@pytest.mark.parametrize(
    ("strategies", "extra", "fragments"),
    [
        (
            [*VARIANTS, {**VARIANTS[1], "args": {}}],
            {},
            ["strategies[3]", "'eps_0.05' appears twice"],
        ),
        (
            ["random", "entropy", {"name": "margin", "label": "entropy"}],
            {},
            ["'entropy' appears twice"],
        ),
        (["random", "entropy", "entropy"], {}, ["strategies[2]", "appears twice"]),
        (["random", {"name": "entropy", "label": "a b"}], {}, ["strategies[1].label"]),
        (["random", {"label": "x"}], {}, ["strategies[1].name"]),
        (["random", {"name": "entropy", "lable": "x"}], {}, ["strategies[1].lable"]),
        (
            VARIANTS,
            {"strategy_args": {"eps_0.2": {"epsilon": 0.1}}},
            ["'eps_0.2' has args both in its strategies entry and in strategy_args"],
        ),
        (["random", {"name": "entropyy", "label": "e"}], {}, ["entropyy"]),
    ],
)
def test_bad_strategy_entries_are_one_line_errors(tmp_path, capsys, strategies, extra, fragments):
    path = _write(tmp_path, _job(strategies=strategies, **extra))
    assert main(["--job", str(path), "--dry-run"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("raysweep: error: "), lines
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert not ray.is_initialized()
