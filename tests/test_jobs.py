"""Job files: the schema, the trial plan, and one-line errors for bad input before anything starts.

Most cases call ``raysweep.run.main`` in-process (fast); the failures that happen after validation
(tracking store, storage path, cluster resources) run the real CLI as a subprocess and check that
an existing MLflow store and Tune storage directory are left exactly as they were.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import ray
import yaml
from conftest import REPO, free_port, short_tmp_dir, subprocess_env
from mlflow.tracking import MlflowClient

from raysweep.data import DATASETS
from raysweep.errors import ConfigError
from raysweep.models import MODELS
from raysweep.service.cli import main
from raysweep.spec.job_checks import validate_job
from raysweep.spec.job_file import load_job, parse_job
from raysweep.spec.plan import plan_studies
from raysweep.strategies import STRATEGIES

SMOKE = REPO / "jobs" / "smoke.yaml"
QUICKSTART = REPO / "jobs" / "quickstart.yaml"


@pytest.fixture(autouse=True)
def _scoped_env(monkeypatch):
    """main() sets HF_HUB_OFFLINE; keep that (and any Ray address) out of the other tests."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)


def smoke() -> dict[str, Any]:
    return yaml.safe_load(SMOKE.read_text())


def write_job(tmp_path: Path, job: dict[str, Any] | str, name: str = "job.yaml") -> Path:
    path = tmp_path / name
    path.write_text(job if isinstance(job, str) else yaml.safe_dump(job, sort_keys=False))
    return path


def one_line_error(capsys, argv: list[str], *fragments: str) -> str:
    """``main(argv)`` exits 2 with exactly one line on stderr, naming the problem."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("raysweep: error: "), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def rejected(tmp_path: Path, capsys, job: dict[str, Any] | str, *fragments: str) -> str:
    return one_line_error(capsys, ["--job", str(write_job(tmp_path, job)), "--dry-run"], *fragments)


# ------------------------------------------------------------------ one-line errors, in-process
def test_yaml_syntax_error_names_the_line(tmp_path, capsys):
    text = "name: bad\ndatasets: [shapes]\nmodels: [tiny_cnn]\nstrategies: [random\nseeds: 2\n"
    line = rejected(tmp_path, capsys, text, "YAML syntax error", "line 5")
    assert "job.yaml" in line


def test_yaml_bad_indentation_names_the_line(tmp_path, capsys):
    text = "name: bad\ndatasets: [shapes]\nmodels: [tiny_cnn]\nstrategies: [random]\nrecipe:\n  seed_size: 10\n   budget: 40\n"
    rejected(tmp_path, capsys, text, "YAML syntax error", "line 7")


def test_job_that_is_not_a_mapping(tmp_path, capsys):
    rejected(tmp_path, capsys, "- shapes\n- tiny_cnn\n", "must be a YAML mapping")


def test_missing_job_file(tmp_path, capsys):
    one_line_error(capsys, ["--job", str(tmp_path / "nope.yaml"), "--dry-run"], "cannot read")


def test_unknown_top_level_key_suggests_the_nearest(tmp_path, capsys):
    job = smoke()
    job["stratgies"] = job.pop("strategies")
    rejected(tmp_path, capsys, job, "unknown key stratgies", "did you mean strategies")


def test_unknown_key_in_recipe(tmp_path, capsys):
    job = smoke()
    job["recipe"] = {"seed_sise": 10}
    rejected(tmp_path, capsys, job, "recipe.seed_sise", "seed_size")


def test_unknown_key_in_train(tmp_path, capsys):
    job = smoke()
    job["train"]["lrr"] = 0.1
    rejected(tmp_path, capsys, job, "train.lrr", "did you mean train.lr?")


def test_unknown_key_in_tracking_and_resources(tmp_path, capsys):
    job = smoke()
    job["tracking"]["experimnt"] = "x"
    rejected(tmp_path, capsys, job, "tracking.experimnt", "tracking.experiment")
    job = smoke()
    job["resources"]["gpu"] = 1
    rejected(tmp_path, capsys, job, "resources.gpu", "resources.gpus")


@pytest.mark.parametrize(
    ("axis", "bad", "registry"),
    [("strategies", "entrop", STRATEGIES), ("datasets", "shape", DATASETS)],
)
def test_unknown_name_lists_the_valid_ones(tmp_path, capsys, axis, bad, registry):
    job = smoke()
    job[axis] = [*(["random"] if axis == "strategies" else []), bad]  # random: the reference
    line = rejected(tmp_path, capsys, job, repr(bad), "valid: ")
    assert line.endswith(", ".join(registry.names())), line


def test_unknown_model_lists_the_valid_ones(tmp_path, capsys):
    job = smoke()
    job["models"] = [{"name": "tiny_cn", "pretrained": False}]
    line = rejected(tmp_path, capsys, job, "unknown model 'tiny_cn'", "did you mean 'tiny_cnn'")
    assert line.endswith(", ".join(MODELS.names())), line


@pytest.mark.parametrize(
    ("recipe", "fragments"),
    [
        ({"seed_size": 50, "budget": 40}, ("recipe.budget (40)", "recipe.seed_size (50)")),
        ({"seed_size": 0}, ("recipe.seed_size", "positive")),
        ({"first_batch": -10}, ("recipe.first_batch", "-10")),
        ({"eval_every": 0}, ("recipe.eval_every",)),
    ],
)
def test_impossible_sizes(tmp_path, capsys, recipe, fragments):
    job = smoke()
    job["recipe"].update(recipe)
    rejected(tmp_path, capsys, job, *fragments)


@pytest.mark.parametrize("ratio", [0, 1, 1.5, -0.1])
def test_stop_ratio_outside_the_open_unit_interval(tmp_path, capsys, ratio):
    job = smoke()
    job["train"]["stop_ratio"] = ratio
    rejected(tmp_path, capsys, job, "train.stop_ratio", "(0, 1)")


@pytest.mark.parametrize(
    ("space", "fragments"),
    [
        (
            {"distribution": "uniform", "low": 0.1, "high": 0.01},
            ("search.space.train.lr", "low < high"),
        ),
        ({"distribution": "loguniform", "low": 0.1, "high": 0.1}, ("low < high",)),
        ({"distribution": "loguniform", "low": 0, "high": 0.1}, ("loguniform needs low > 0",)),
        ({"distribution": "normal", "low": 0, "high": 1}, ("distribution must be one of",)),
        ({"distribution": "categorical", "values": []}, ("values must be a non-empty list",)),
        ({"distribution": "uniform", "low": 0.01, "high": 0.1, "step": 2}, ("train.lr.step",)),
        ({"grid": []}, ("grid must be a non-empty list",)),
    ],
)
def test_bad_search_space(tmp_path, capsys, space, fragments):
    job = smoke()
    job["search"]["space"] = {"train.lr": space}
    rejected(tmp_path, capsys, job, *fragments)


def test_search_key_outside_the_searchable_sections(tmp_path, capsys):
    job = smoke()
    job["search"]["space"] = {"lr": [0.1, 0.01]}
    rejected(tmp_path, capsys, job, "search key 'lr'", "train.")


def test_both_ends_of_a_searched_range_are_validated(tmp_path, capsys):
    job = smoke()
    job["search"]["space"] = {
        "train.stop_ratio": {"distribution": "uniform", "low": 0.001, "high": 1.5}
    }
    rejected(tmp_path, capsys, job, "train.stop_ratio", "1.5")


def test_searched_value_is_validated_like_a_fixed_one(tmp_path, capsys):
    job = smoke()
    job["search"]["space"] = {"train.stop_ratio": [0.01, 2.0]}
    rejected(tmp_path, capsys, job, "train.stop_ratio", "2.0")


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        ({"seeds": 0}, ("seeds",)),
        ({"seeds": [1, 1]}, ("seeds repeat",)),
        ({"seeds": "three"}, ("seeds",)),
        ({"max_concurrent": 0}, ("max_concurrent",)),
        ({"reference_strategy": "margin"}, ("reference_strategy 'margin'",)),
        ({"resources": {"cpus": 0, "gpus": 0}}, ("resources",)),
        ({"resources": {"cpus": "one"}}, ("resources.cpus must be a number",)),
        ({"target_metric": "high"}, ("target_metric must be a number",)),
        ({"strategies": []}, ("strategies must be a non-empty list",)),
        ({"train": {"lr": "fast"}}, ("train.lr must be a number", "'fast'")),
        ({"recipe": {"warm_start": "yes"}}, ("recipe.warm_start must be true or false",)),
        ({"strategy_args": {"badge": {}}}, ("strategy_args.badge", "not in strategies")),
    ],
)
def test_other_bad_fields(tmp_path, capsys, change, fragments):
    job = smoke()
    job.update(change)
    rejected(tmp_path, capsys, job, *fragments)


def test_max_concurrent_flag_must_be_positive(capsys):
    one_line_error(
        capsys, ["--job", str(SMOKE), "--max-concurrent", "0", "--dry-run"], "--max-concurrent"
    )


def test_exponent_floats_are_numbers(tmp_path):
    """``lr: 1e-2`` is how people write a learning rate; plain YAML 1.1 would make it a string."""
    text = SMOKE.read_text().replace("lr: 0.01", "lr: 1e-2")
    text = text.replace(
        "search:\n",
        "search:\n  space: {train.weight_decay: {distribution: loguniform, low: 1e-5, high: 1.0e-3}}\n",
    )
    job = load_job(write_job(tmp_path, text))
    assert job.train["lr"] == 0.01 and isinstance(job.train["lr"], float)
    assert job.search.distributions["train.weight_decay"]["low"] == pytest.approx(1e-5)
    assert job.search.distributions["train.weight_decay"]["high"] == pytest.approx(1e-3)


# --------------------------------------------------------------------------- the plan, dry run
@pytest.mark.parametrize(
    ("path", "n_trials"),
    [(SMOKE, 4), (QUICKSTART, 24), (REPO / "jobs" / "paper_recipe_gpu.yaml", 128)],
)
def test_dry_run_prints_the_plan_and_starts_nothing(tmp_path, capsys, path, n_trials):
    store, storage = tmp_path / "mlflow.db", tmp_path / "tune"
    argv = ["--job", str(path), "--dry-run", "--tracking-uri", f"sqlite:///{store}"]
    assert main([*argv, "--storage-path", str(storage)]) == 0
    out = capsys.readouterr().out
    job = load_job(path)
    assert out.splitlines()[0].startswith(f"sweep {job.name}: {n_trials} trials in 1 Tune study")
    for cell in job.cells():
        assert f"{cell.cell_id}: seeds {job.seeds}" in out
    assert not ray.is_initialized()
    assert not store.exists() and not storage.exists()


def test_dry_run_cli_starts_no_ray(tmp_path):
    """The real CLI in a fresh process: Ray would create a session under RAY_TMPDIR."""
    ray_tmp = tmp_path / "raytmp"
    ray_tmp.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "raysweep.run", "--job", str(SMOKE), "--dry-run"],
        cwd=tmp_path,
        env=subprocess_env(RAY_TMPDIR=str(ray_tmp)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "sweep smoke: 4 trials" in done.stdout
    assert list(ray_tmp.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raytmp"]  # no mlflow.db, no ray_results


@pytest.mark.parametrize(
    ("kind", "registry"), [("strategies", STRATEGIES), ("datasets", DATASETS), ("models", MODELS)]
)
def test_list_prints_the_registry(capsys, kind, registry):
    assert main(["--list", kind]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == registry.names()
    assert all(len(line.split()) > 1 for line in lines), "every entry has a summary"


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--job", "--dry-run", "--list", "--tracking-uri", "--storage-path", "--resume"):
        assert flag in out


def test_no_job_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "--job is required" in capsys.readouterr().err


# ------------------------------------------------------------------------ schema and expansion
def test_seeds_as_a_count_or_a_list():
    job = smoke()
    job["seeds"] = 3
    parsed = parse_job(job)
    validate_job(parsed)
    assert parsed.seeds == [0, 1, 2]
    job["seeds"] = [0, 5]
    parsed = parse_job(job)
    validate_job(parsed)
    assert parsed.seeds == [0, 5]
    assert parsed.n_trials() == 2 * 2  # 2 strategies x 2 seeds
    with pytest.raises(ConfigError, match="seeds"):
        parse_job({**job, "seeds": [0, True]})


def test_grid_axis_multiplies_the_cells():
    job = smoke()
    plain = parse_job(job)
    job["search"]["space"] = {"train.lr": [0.01, 0.1]}
    grid = parse_job(job)
    validate_job(grid)
    assert len(plain.cells()) == 2
    assert len(grid.cells()) == 2 * len(plain.cells())
    assert grid.n_trials() == 2 * plain.n_trials() == 8
    lrs = sorted((c.strategy, c.spec(0)["train"]["lr"]) for c in grid.cells())
    assert lrs == [("entropy", 0.01), ("entropy", 0.1), ("random", 0.01), ("random", 0.1)]
    # strategies are compared within one grid point, never across learning rates
    assert len({c.group for c in grid.cells()}) == 2
    assert len({c.cell_id for c in grid.cells()}) == 4
    assert len(plan_studies(grid)) == 1  # no Optuna: one Tuner runs the whole grid


def test_optuna_trials_times_seeds():
    job = smoke()
    job["seeds"] = [0, 1, 2]
    job["search"]["space"] = {
        "train.lr": {"distribution": "loguniform", "low": 0.001, "high": 0.1},
        "recipe.batch_multiplier": [1.0, 2.0],
    }
    job["search"]["n_trials"] = 5
    parsed = parse_job(job)
    validate_job(parsed)
    cells = parsed.cells()
    assert len(cells) == 2 * 2  # strategies x grid points
    assert parsed.n_trials() == len(cells) * 5 * 3
    studies = plan_studies(parsed)
    assert len(studies) == len(cells) and all(s.optuna for s in studies)
    assert len({s.name for s in studies}) == len(studies)


# ------------------------------------------- failures after validation leave existing state alone
def _snapshot(*roots: Path) -> list[tuple[str, int, int]]:
    entries = []
    for root in roots:
        for path in sorted(root.rglob("*")):
            stat = path.stat()
            entries.append((str(path), stat.st_size if path.is_file() else -1, stat.st_mtime_ns))
    return entries


def _counts(uri: str) -> tuple[int, int]:
    client = MlflowClient(uri)
    experiments = client.search_experiments()
    runs = client.search_runs([e.experiment_id for e in experiments])
    return len(experiments), len(runs)


@pytest.fixture(scope="module")
def _store_template(tmp_path_factory) -> Path:
    """An MLflow sqlite store holding the smoke experiment and one finished run (built once)."""
    track = tmp_path_factory.mktemp("store")
    client = MlflowClient(f"sqlite:///{track}/mlflow.db")
    experiment = client.create_experiment("smoke")
    run = client.create_run(experiment, run_name="earlier")
    client.log_metric(run.info.run_id, "m", 1.0)
    client.set_terminated(run.info.run_id)
    return track


@pytest.fixture
def existing_state(_store_template):
    """What a previous sweep left behind: a copy of the MLflow store, a Tune storage directory
    with a marker file, and a working directory."""
    root = short_tmp_dir("rsj")  # short: Ray may start below it (RAY_TMPDIR)
    track, storage, cwd, ray_tmp = root / "t", root / "s", root / "w", root / "r"
    cache = root / "c"
    shutil.copytree(_store_template, track)
    for d in (storage, cwd, ray_tmp, cache):
        d.mkdir()
    (storage / "smoke").mkdir()
    (storage / "smoke" / "marker.txt").write_text("from an earlier sweep")
    (cache / "kept.txt").write_text("an earlier cache entry")
    uri = f"sqlite:///{track}/mlflow.db"
    state = {
        "uri": uri,
        "track": track,
        "storage": storage,
        "cwd": cwd,
        "ray_tmp": ray_tmp,
        "cache": cache,
        "root": root,
    }
    state["files"] = _snapshot(track, storage, cwd, cache)
    yield state
    shutil.rmtree(root, ignore_errors=True)


def _run_cli(
    state: dict[str, Any], job: Path, *extra: str
) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "raysweep.run", "--job", str(job), *extra],
        cwd=state["cwd"],
        env=subprocess_env(RAY_TMPDIR=str(state["ray_tmp"]), RAYSWEEP_CACHE=str(state["cache"])),
        capture_output=True,
        text=True,
        timeout=180,
    )
    return done, time.monotonic() - started


def _run_in_process(
    state: dict[str, Any], monkeypatch, capsys, job: Path, *extra: str
) -> subprocess.CompletedProcess:
    """The CLI's own ``main`` in this process, with the subprocess's cwd and environment.

    Most cases here only need the preflight's verdict; a fresh interpreter per case cost 10-15 s
    of imports each (the subprocess cases above keep the real entry point covered)."""
    monkeypatch.chdir(state["cwd"])
    monkeypatch.setenv("RAY_TMPDIR", str(state["ray_tmp"]))
    monkeypatch.setenv("RAYSWEEP_CACHE", str(state["cache"]))
    capsys.readouterr()
    code = main(["--job", str(job), *extra])
    captured = capsys.readouterr()
    assert not ray.is_initialized(), "Ray started before the check"
    return subprocess.CompletedProcess([], code, captured.out, captured.err)


def _assert_failed_cleanly(done: subprocess.CompletedProcess, *fragments: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr[-3000:])
    errors = [line for line in done.stderr.splitlines() if line.startswith("raysweep: error:")]
    assert len(errors) == 1, done.stderr
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    assert "Traceback" not in done.stderr


def _assert_untouched(state: dict[str, Any]) -> None:
    snapshot = _snapshot(state["track"], state["storage"], state["cwd"], state["cache"])
    assert snapshot == state["files"]
    assert _counts(state["uri"]) == (2, 1)  # still: the Default and smoke experiments, one run
    assert list(state["ray_tmp"].iterdir()) == [], "Ray started before the check"


def test_unreachable_tracking_server_fails_fast_before_ray(existing_state):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    done, seconds = _run_cli(
        existing_state,
        SMOKE,
        "--tracking-uri",
        dead,
        "--storage-path",
        str(existing_state["storage"]),
    )
    _assert_failed_cleanly(done, dead, "unreachable")
    assert seconds < 60, f"took {seconds:.0f}s: the check must not wait out HTTP retries"
    assert list(existing_state["ray_tmp"].iterdir()) == [], "Ray started before the check"
    _assert_untouched(existing_state)


def test_unwritable_storage_path_fails_before_ray(existing_state, monkeypatch, capsys):
    blocker = existing_state["storage"] / "smoke" / "marker.txt"  # a regular file
    done = _run_in_process(
        existing_state,
        monkeypatch,
        capsys,
        SMOKE,
        "--tracking-uri",
        existing_state["uri"],
        "--storage-path",
        str(blocker / "under"),
    )
    _assert_failed_cleanly(done, "storage path", "cannot be written")
    assert list(existing_state["ray_tmp"].iterdir()) == [], "Ray started before the check"
    assert blocker.read_text() == "from an earlier sweep"
    _assert_untouched(existing_state)


def test_missing_tracking_directory_fails_before_ray(existing_state, monkeypatch, capsys):
    uri = f"sqlite:///{existing_state['track']}/missing/mlflow.db"
    done = _run_in_process(
        existing_state,
        monkeypatch,
        capsys,
        SMOKE,
        "--tracking-uri",
        uri,
        "--storage-path",
        str(existing_state["storage"]),
    )
    _assert_failed_cleanly(done, "does not exist or is not writable")
    assert not (existing_state["track"] / "missing").exists()
    _assert_untouched(existing_state)


def test_resources_beyond_the_cluster_are_rejected(existing_state):
    """A trial asking for a GPU on a GPU-less cluster would stay PENDING forever: refuse it."""
    import torch

    job = smoke()
    job["resources"] = {"cpus": 1, "gpus": torch.cuda.device_count() + 1}  # 1 on a CPU machine
    job_file = write_job(existing_state["ray_tmp"].parent, job, "gpu.yaml")
    done, _ = _run_cli(
        existing_state,
        job_file,
        "--tracking-uri",
        existing_state["uri"],
        "--storage-path",
        str(existing_state["storage"]),
    )
    _assert_failed_cleanly(done, f"{job['resources']['gpus']} GPU", "the cluster has")
    _assert_untouched(existing_state)  # a standalone run knows this machine without starting Ray


def _with(changes: dict[str, Any]) -> dict[str, Any]:
    job = smoke()
    for dotted, value in changes.items():
        *parents, key = dotted.split(".")
        target = job
        for parent in parents:
            target = target.setdefault(parent, {})
        target[key] = value
    return job


# Hand-made bad jobs that once got past validation: each must fail in the preflight, before Ray
# starts and before anything is written, with one line naming the problem.
MALFORMED = {
    "dataset arg of the wrong type": (
        _with({"datasets": [{"name": "shapes", "args": {"n": "four hundred"}}]}),
        ["dataset_args.n must be an integer", "four hundred"],
    ),
    "first batch and budget beyond the pool": (
        _with({"recipe.first_batch": 5000, "recipe.budget": 6000}),
        ["recipe.budget (6000) is larger than the pool"],
    ),
    "waterbirds root_dir that does not exist": (
        _with({"datasets": [{"name": "waterbirds", "args": {"root_dir": "/nonexistent/wilds"}}]}),
        ["waterbirds", "/nonexistent/wilds"],
    ),
    "text model on an image dataset": (
        _with({"models": [{"name": "bert_base", "pretrained": False}]}),
        ["bert_base takes text inputs", "is image"],
    ),
    "misspelt report metric": (
        _with({"report_metric": "test/worst_group_acc"}),
        ["report_metric 'test/worst_group_acc' is not recorded", "test/worst_group_accuracy"],
    ),
    "misspelt objective metric of a search": (
        _with(
            {
                "search.space": {
                    "train.lr": {"distribution": "loguniform", "low": 0.001, "high": 0.1}
                },
                "search.objective.metric": "val/acuracy",
            }
        ),
        ["search.objective.metric 'val/acuracy'", "did you mean 'val/accuracy'"],
    ),
    "test-split objective": (
        _with({"search.objective.metric": "test/accuracy"}),
        ["test split", "allow_test_split"],
    ),
    "unknown strategy argument": (
        _with({"strategy_args": {"entropy": {"temperature": 2}}}),
        ["strategy entropy", "unknown strategy_args.temperature"],
    ),
    "duplicate YAML key": (
        SMOKE.read_text() + "max_concurrent: 3\nmax_concurrent: 4\n",
        ["key 'max_concurrent' appears twice"],
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_job_fails_before_anything_starts(existing_state, case, monkeypatch, capsys):
    job, fragments = MALFORMED[case]
    job_file = write_job(existing_state["root"], job, "bad.yaml")
    done = _run_in_process(
        existing_state,
        monkeypatch,
        capsys,
        job_file,
        "--tracking-uri",
        existing_state["uri"],
        "--storage-path",
        str(existing_state["storage"]),
    )
    _assert_failed_cleanly(done, *fragments)
    _assert_untouched(existing_state)


def test_job_file_that_is_not_utf8(existing_state, monkeypatch, capsys):
    job_file = existing_state["root"] / "latin1.yaml"
    job_file.write_bytes(SMOKE.read_bytes() + "# caf\xe9\n".encode("latin-1"))
    done = _run_in_process(existing_state, monkeypatch, capsys, job_file)
    _assert_failed_cleanly(done, "is not UTF-8 text")
    _assert_untouched(existing_state)


def test_storage_path_that_cannot_be_created(existing_state, monkeypatch, capsys):
    done = _run_in_process(
        existing_state,
        monkeypatch,
        capsys,
        SMOKE,
        "--tracking-uri",
        existing_state["uri"],
        "--storage-path",
        "/proc/raysweep-cannot-be-here",
    )
    _assert_failed_cleanly(done, "storage path /proc/raysweep-cannot-be-here")
    _assert_untouched(existing_state)


def test_storage_uris(tmp_path):
    """file:// URIs get the local checks; other URIs are kept verbatim (never resolved as paths)."""
    from raysweep.service.storage import check_storage
    from raysweep.spec.plan import resolve_storage

    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match="cannot be written"):
        check_storage(f"file://{blocker}/tune")
    check_storage(f"file://{tmp_path}/tune")  # creatable: accepted
    assert resolve_storage("s3://bucket/raysweep") == "s3://bucket/raysweep"
    assert resolve_storage("relative/dir") == str((Path.cwd() / "relative" / "dir").resolve())


@pytest.mark.parametrize("path", sorted((REPO / "jobs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_job_validates(path):
    from raysweep.spec.job_file import load_job

    job = load_job(path)  # raises ConfigError on any problem
    assert job.n_trials() > 0


def test_same_dataset_with_other_args_is_its_own_comparison_group():
    from raysweep.spec.job_file import parse_job

    raw = smoke()
    raw["datasets"] = [
        {"name": "shapes", "args": {"n": 400, "train_agreement": 0.95}},
        {"name": "shapes", "args": {"n": 400, "train_agreement": 0.75}},
    ]
    job = parse_job(raw)
    groups = {cell.group for cell in job.cells()}
    assert len(groups) == 2, groups  # each agreement level compares its own strategies
    assert any("train_agreement=0.75" in g for g in groups)
    assert len({c.cell_id for c in job.cells()}) == len(job.cells())
    single = parse_job(smoke())
    assert {cell.group for cell in single.cells()} == {"shapes/tiny_cnn-random_init"}
