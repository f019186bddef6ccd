"""The paper's jobs (jobs/paper/) and the text quickstart validate and plan without data or GPUs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from raysweep.errors import ConfigError
from raysweep.service.cli import main
from raysweep.spec.env_vars import expand_env, expand_string
from raysweep.spec.job_file import load_job

REPO = Path(__file__).resolve().parents[1]
PAPER_JOBS = sorted((REPO / "jobs" / "paper").glob("*.yaml"))
PAPER_SEEDS = [1, 11, 21, 31, 41, 51, 61, 71, 81, 91, 101, 111, 121, 131, 141, 151]


def test_every_experiment_of_the_paper_has_a_job() -> None:
    names = {job.stem for job in PAPER_JOBS}
    assert {
        "waterbirds",
        "treeperson",
        "iwildcam",
        "amazon",
        "pretraining_waterbirds",
        "pretraining_iwildcam",
        "mismatch_waterbirds",
        "failure_camelyon17",
        "failure_fmow",
    } <= names


@pytest.mark.parametrize("job", PAPER_JOBS, ids=lambda path: path.stem)
def test_paper_job_passes_dry_run(job: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--job", str(job), "--dry-run"]) == 0
    plan = capsys.readouterr().out
    raw = yaml.safe_load(job.read_text())
    assert f"sweep {raw['name']}:" in plan
    assert raw["seeds"] == PAPER_SEEDS and raw["resources"]["gpus"] >= 1
    # the job names the data it needs and where it comes from
    header = job.read_text().split("\nname:")[0]
    assert "Data:" in header
    for dataset in raw["datasets"]:
        # the default root, which RAYSWEEP_DATA relocates (tests/test_paper_preflight.py)
        root = expand_env(dataset["args"]["root_dir"], environ={})
        assert root.startswith("/data/") and (root in header or "as in" in header)
        assert dataset["args"]["root_dir"].startswith("${RAYSWEEP_DATA:-/data}/")
    for model in raw["models"]:
        if model["pretrained"]:
            assert model["args"]["weights"].startswith("${RAYSWEEP_MODELS:-/models}/")
    assert "RAYSWEEP_DATA and RAYSWEEP_MODELS" in header
    recipe = raw["recipe"]
    assert recipe["budget"] == 9 * recipe["seed_size"]  # 8 x seed size acquired, plus the seed


def test_paper_recipes_of_the_official_scripts() -> None:
    jobs = {job.stem: yaml.safe_load(job.read_text()) for job in PAPER_JOBS}
    for name in ("waterbirds", "treeperson"):
        assert jobs[name]["recipe"]["seed_size"] == 40 and jobs[name]["recipe"]["first_batch"] == 5
    iwildcam = jobs["iwildcam"]
    assert iwildcam["recipe"]["seed_size"] == 182 and iwildcam["recipe"]["first_batch"] == 20
    assert iwildcam["recipe"]["pool_subsample"] == 12000
    assert set(iwildcam["strategies"]) == {"random", "least_confidence", "entropy", "margin"}
    fractions = [d["args"]["matched_fraction"] for d in jobs["mismatch_waterbirds"]["datasets"]]
    assert fractions[0] == 0.5 and fractions[-1] == 0.95 and fractions == sorted(fractions)
    models = {(m["name"], m["pretrained"]) for m in jobs["pretraining_iwildcam"]["models"]}
    assert models == {
        ("bit_s_r50x1", True),
        ("bit_m_r50x1", True),
        ("bit_m_r101x1", True),
        ("bit_m_r50x1", False),
        ("bit_m_r101x1", False),
    }
    assert jobs["amazon"]["models"][0]["name"] == "roberta_large"


def test_text_quickstart_passes_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--job", str(REPO / "jobs" / "quickstart_text.yaml"), "--dry-run"]) == 0
    assert "sweep quickstart_text: 12 trials" in capsys.readouterr().out


def test_environment_references_in_a_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"DATA": "/scratch/d", "EMPTY": ""}
    assert expand_string("${DATA}/wilds", "f", env) == "/scratch/d/wilds"
    assert expand_string("${DATA:-/data}/wilds", "f", env) == "/scratch/d/wilds"
    assert expand_string("${NOPE:-/data}/x", "f", env) == "/data/x"
    assert expand_string("${EMPTY:-/data}", "f", env) == "/data"  # as the shell's ":-"
    assert expand_string("$DATA and $ and ${ }", "f", env) == "$DATA and $ and ${ }"  # untouched
    assert expand_env({"a": ["${DATA}", 3, {"b": "${DATA}"}]}, environ=env) == {
        "a": ["/scratch/d", 3, {"b": "/scratch/d"}]
    }
    with pytest.raises(ConfigError, match=r"^datasets\[0\]\.args\.root_dir: .*NOPE is not set"):
        expand_env({"datasets": [{"args": {"root_dir": "${NOPE}/x"}}]}, environ=env)

    job = tmp_path / "job.yaml"
    job.write_text(
        "datasets: [shapes]\n"
        "models: [{name: tiny_cnn, pretrained: false}]\nstrategies: [random]\n"
        'storage_path: "${RESULTS}/ray"\n'
    )
    monkeypatch.delenv("RESULTS", raising=False)
    with pytest.raises(ConfigError, match=rf"^{job}: storage_path: environment variable RESULTS"):
        load_job(job)
    monkeypatch.setenv("RESULTS", str(tmp_path))
    loaded = load_job(job)
    assert loaded.storage_path == f"{tmp_path}/ray"
