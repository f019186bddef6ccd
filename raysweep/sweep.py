"""The sweep driver: Ray Tune studies for a job, with resume, MLflow parent run and the final report.

Grid axes and Optuna do not mix in one Tuner (Ray rejects grid_search with OptunaSearch), so a job
is planned as *studies*: without Optuna distributions, one Tuner runs every (cell, seed) of the
grid at full concurrency; with them, each cell gets its own Tuner whose OptunaSearch proposes
configurations and a Repeater runs each one for every seed (the objective is the seed mean).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from mlflow.tracking import MlflowClient
from ray import tune

from raysweep.errors import ConfigError
from raysweep.jobs import Cell, SweepJob
from raysweep.progress import SweepProgress
from raysweep.sweep_report import report_group, report_sweep
from raysweep.tracking import (
    check_same_job,
    check_tracking_uri,
    ensure_experiment,
    find_parent_run,
    flatten,
    open_parent_run,
    resolve_tracking_uri,
)
from raysweep.trial import CONTEXT_KEY, run_trial


@dataclass(frozen=True)
class Study:
    """One Ray Tune experiment of the sweep."""

    name: str
    cells: list[Cell]
    optuna: bool


def plan_studies(job: SweepJob) -> list[Study]:
    cells = job.cells()
    if not job.search.distributions:
        return [Study(f"{job.name}", cells, optuna=False)]
    return [Study(f"{job.name}-{cell.cell_id}", [cell], optuna=True) for cell in cells]


def describe_plan(job: SweepJob) -> str:
    """The dry-run output: what would run, and where results would go."""
    n_studies = len(plan_studies(job))
    lines = [
        f"sweep {job.name}: {job.n_trials()} trials in {n_studies} Tune stud{'y' if n_studies == 1 else 'ies'}",
        f"  tracking: {job.tracking_uri} (experiment {job.experiment_name!r}); Tune state: {job.storage_path}",
        f"  resources per trial: {job.resources.cpus} CPU, {job.resources.gpus} GPU; max concurrent {job.max_concurrent}; retries {job.max_failures}",
    ]
    per_cell = job.search.n_trials if job.search.distributions else 1
    if job.search.distributions:
        space = ", ".join(f"{k}~{v['distribution']}" for k, v in job.search.distributions.items())
        lines.append(
            f"  Optuna: {per_cell} configurations per cell over {space}; objective {job.search.objective}"
        )
    for cell in job.cells():
        lines.append(f"  {cell.cell_id}: seeds {job.seeds} x {per_cell} config(s)")
    return "\n".join(lines)


def sweep_id(job: SweepJob) -> str:
    """Same job name and storage path = same sweep (a rerun resumes it, never duplicates it)."""
    key = json.dumps([job.name, resolve_storage(job.storage_path)])
    return hashlib.sha1(key.encode()).hexdigest()[:16]


STORAGE_PROBE_SECONDS = 30


def resolve_storage(path: str) -> str:
    """Local paths made absolute (trials run elsewhere); URIs such as s3://... kept as they are."""
    return path if "://" in path else str(Path(path).resolve())


def check_storage(path: str) -> None:
    """A local storage path must be (or be creatable in) a writable directory; a URI reachable."""
    if path.startswith("file://"):
        path = path.removeprefix("file://")
    if "://" in path:
        import concurrent.futures

        import pyarrow.fs

        def probe() -> None:
            filesystem, inner = pyarrow.fs.FileSystem.from_uri(path)
            filesystem.get_file_info(inner)

        # cloud filesystems retry for minutes when credentials or the network are missing
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        try:
            pool.submit(probe).result(timeout=STORAGE_PROBE_SECONDS)
        except concurrent.futures.TimeoutError:
            raise ConfigError(
                f"storage path {path} did not answer in {STORAGE_PROBE_SECONDS} s"
            ) from None
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"storage path {path} cannot be reached: {first}") from None
        finally:
            pool.shutdown(wait=False)
        return
    target = Path(path).resolve()
    existing = target
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        raise ConfigError(
            f"storage path {path} cannot be written ({existing} is not a writable directory)"
        )


def check_resources(job: SweepJob) -> None:
    """A trial that asks for more than the whole cluster could ever give would wait forever."""
    total = ray.cluster_resources()
    have_cpu = max(total.get("CPU", 0.0), job.resources.cluster_max_cpus or 0.0)
    have_gpu = max(total.get("GPU", 0.0), job.resources.cluster_max_gpus or 0.0)
    if job.resources.cpus > have_cpu or job.resources.gpus > have_gpu:
        raise ConfigError(
            f"each trial asks for {job.resources.cpus:g} CPU / {job.resources.gpus:g} GPU; "
            f"the cluster has {have_cpu:g} CPU / {have_gpu:g} GPU "
            "(an autoscaling cluster: set resources.cluster_max_cpus / cluster_max_gpus)"
        )


def connect_ray() -> None:
    """Attach to the cluster under ``ray job submit`` (RAY_ADDRESS is set), else start a local Ray."""
    if ray.is_initialized():
        return
    # one snapshot per round checkpoint is what we want; Tune's warning about it is noise here
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    address = os.environ.get("RAY_ADDRESS")
    # workers inherit cwd-independent settings through the runtime env, not the driver's shell
    runtime_env = {
        "env_vars": {"HF_HUB_OFFLINE": "1", "RAYSWEEP_CACHE": os.environ.get("RAYSWEEP_CACHE", "")}
    }
    if address:
        ray.init(address=address, runtime_env=runtime_env, log_to_driver=True)
    else:
        ray.init(
            address="local", include_dashboard=False, runtime_env=runtime_env, log_to_driver=True
        )


def job_fingerprint(job: SweepJob) -> str:
    """What defines a sweep's trials; overrides such as tracking URI or concurrency do not count."""
    defining = {
        "datasets": job.datasets,
        "models": job.models,
        "strategies": job.strategies,
        "seeds": job.seeds,
        "recipe": job.recipe,
        "train": job.train,
        "strategy_args": job.strategy_args,
        "search": job.search,
    }
    raw = json.dumps(defining, sort_keys=True, default=lambda o: o.__dict__)
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


def run_sweep(job: SweepJob, resume: bool = False) -> dict[str, Any]:
    """Run (or resume) every study of ``job``; returns the label-efficiency report."""
    uri = resolve_tracking_uri(job.tracking_uri)
    check_tracking_uri(uri)
    check_storage(job.storage_path)
    client = MlflowClient(uri)
    sid, fingerprint = sweep_id(job), job_fingerprint(job)
    check_same_job(find_parent_run(client, job.experiment_name, sid), fingerprint, job.name)
    connect_ray()
    check_resources(job)
    experiment_id = ensure_experiment(client, job.experiment_name, uri)
    parent = open_parent_run(client, experiment_id, sid, job.name, _job_params(job), fingerprint)
    context = {
        "tracking_uri": uri,
        "experiment_id": experiment_id,
        "parent_run_id": parent,
        "sweep_id": sid,
        "objective_metric": job.search.objective.metric,
        "objective_summary": job.search.objective.summary,
    }
    storage = resolve_storage(job.storage_path)
    started = time.time()
    progress = SweepProgress(
        total=job.n_trials(),
        metric=job.search.objective.metric,
        **_incremental_reporting(job, uri, parent),
    )
    for study in plan_studies(job):
        _run_study(job, study, context, storage, resume, progress)
    report = report_sweep(job, client, parent)
    report["wall_seconds"] = time.time() - started
    report["max_concurrent"] = job.max_concurrent
    client.log_metric(parent, "sweep/wall_seconds", report["wall_seconds"])
    client.set_terminated(parent, "FINISHED")
    report["parent_run_id"] = parent
    report["experiment_id"] = experiment_id
    report["tracking_uri"] = uri
    return report


def _incremental_reporting(job: SweepJob, uri: str, parent: str) -> dict[str, Any]:
    """Report each comparison group when its last trial ends (grid sweeps).

    With Optuna the best configuration is only known after each cell's study, so those groups
    are reported at the end of the sweep only.
    """
    if job.search.distributions:
        return {}
    sizes: dict[str, int] = {}
    for cell in job.cells():
        sizes[cell.group] = sizes.get(cell.group, 0) + len(job.seeds)
    return {
        "group_sizes": sizes,
        "on_group_done": functools.partial(report_group, job, uri, parent),
    }


def _trainable(job: SweepJob) -> Any:
    resources = {"cpu": job.resources.cpus, "gpu": job.resources.gpus}
    return tune.with_resources(run_trial, resources)


def _run_study(
    job: SweepJob,
    study: Study,
    context: dict[str, Any],
    storage: str,
    resume: bool,
    progress: SweepProgress,
) -> None:
    path = os.path.join(storage, study.name)
    if tune.Tuner.can_restore(path):
        # finished trials stay finished; unfinished ones continue from their last round checkpoint
        tuner = tune.Tuner.restore(
            path, trainable=_trainable(job), resume_unfinished=True, resume_errored=True
        )
    else:
        if resume:
            print(f"[raysweep] nothing to resume at {path}; starting study {study.name}")
        tuner = _new_tuner(job, study, context, storage, progress)
    results = tuner.fit()
    if study.optuna:
        _mark_best_configuration(job, study, results, context)


def _new_tuner(
    job: SweepJob, study: Study, context: dict[str, Any], storage: str, progress: SweepProgress
) -> tune.Tuner:
    run_config = tune.RunConfig(
        name=study.name,
        storage_path=storage,
        failure_config=tune.FailureConfig(max_failures=job.max_failures),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
        callbacks=[progress],
        verbose=0,
    )
    if not study.optuna:
        trials = [_trial_entry(cell, seed) for cell in study.cells for seed in job.seeds]
        param_space = {"trial": tune.grid_search(trials), CONTEXT_KEY: context}
        tune_config = tune.TuneConfig(
            max_concurrent_trials=job.max_concurrent,
            trial_name_creator=_trial_name,
            trial_dirname_creator=_trial_name,
            reuse_actors=True,  # keeps imports, datasets and cached embeddings warm between trials
        )
        return tune.Tuner(
            _trainable(job), param_space=param_space, tune_config=tune_config, run_config=run_config
        )
    import optuna
    from ray.tune.search import ConcurrencyLimiter, Repeater
    from ray.tune.search.optuna import OptunaSearch

    (cell,) = study.cells
    objective = job.search.objective
    sampler = optuna.samplers.TPESampler(
        seed=int(hashlib.sha1(cell.cell_id.encode()).hexdigest()[:8], 16)
    )
    searcher = OptunaSearch(metric="objective", mode=objective.mode, sampler=sampler)
    searcher = Repeater(searcher, repeat=len(job.seeds), set_index=True)
    searcher = ConcurrencyLimiter(searcher, max_concurrent=job.max_concurrent)
    param_space = {
        "spec": cell.spec(job.seeds[0]),
        "seeds": list(job.seeds),
        "cell": cell.cell_id,
        "group": cell.group,
        "hp": {
            k.replace(".", "__", 1): _tune_domain(v) for k, v in job.search.distributions.items()
        },
        CONTEXT_KEY: context,
    }
    tune_config = tune.TuneConfig(
        search_alg=searcher,
        num_samples=job.search.n_trials * len(job.seeds),
        trial_name_creator=_trial_name,
        trial_dirname_creator=_trial_name,
        reuse_actors=True,  # keeps imports, datasets and cached embeddings warm between trials
    )
    return tune.Tuner(
        _trainable(job), param_space=param_space, tune_config=tune_config, run_config=run_config
    )


def _trial_entry(cell: Cell, seed: int) -> dict[str, Any]:
    return {
        "spec": cell.spec(seed),
        "cell": cell.cell_id,
        "group": cell.group,
        "config_id": cell.cell_id,
    }


def _trial_name(trial: Any) -> str:
    config = trial.config
    entry = config.get("trial", config)
    seed = entry.get("spec", {}).get("seed", "")
    if "seeds" in config:
        seed = config["seeds"][int(config.get("__trial_index__", 0))]
    return f"{entry.get('cell', 'trial')}-seed{seed}-{trial.trial_id}"[:120]


def _tune_domain(distribution: dict[str, Any]) -> Any:
    kind = distribution["distribution"]
    if kind == "uniform":
        return tune.uniform(distribution["low"], distribution["high"])
    if kind == "loguniform":
        return tune.loguniform(distribution["low"], distribution["high"])
    if kind == "int":
        return tune.randint(int(distribution["low"]), int(distribution["high"]) + 1)
    return tune.choice(list(distribution["values"]))


def _mark_best_configuration(
    job: SweepJob, study: Study, results: Any, context: dict[str, Any]
) -> None:
    """Tag the child runs of the best Optuna configuration (seed mean of the objective)."""
    by_config: dict[str, list[float]] = {}
    hp_of: dict[str, dict[str, Any]] = {}
    for result in results:
        if result.error or result.metrics is None or "objective" not in result.metrics:
            continue
        hp = result.config.get("hp", {})
        key = json.dumps(hp, sort_keys=True)
        by_config.setdefault(key, []).append(float(result.metrics["objective"]))
        hp_of[key] = hp
    if not by_config:
        return
    sign = 1 if job.search.objective.mode == "max" else -1
    best = max(by_config, key=lambda k: sign * sum(by_config[k]) / len(by_config[k]))
    client = MlflowClient(context["tracking_uri"])
    (cell,) = study.cells
    best_hp = {k.replace("__", ".", 1): v for k, v in hp_of[best].items()}
    runs = client.search_runs(
        [context["experiment_id"]],
        filter_string=f"tags.`mlflow.parentRunId` = '{context['parent_run_id']}' and tags.`raysweep.cell` = '{cell.cell_id}'",
    )
    for run in runs:
        params = run.data.params
        is_best = all(_same(params.get(k), v) for k, v in best_hp.items())
        client.set_tag(run.info.run_id, "raysweep.best", str(is_best).lower())
    summary = {
        "cell": cell.cell_id,
        "best": best_hp,
        "objective_mean": sum(by_config[best]) / len(by_config[best]),
        "n_seeds": len(by_config[best]),
    }
    client.log_dict(context["parent_run_id"], summary, f"best_configs/{cell.cell_id}.json")
    print(
        f"[raysweep] best configuration for {cell.cell_id}: {best_hp} (objective {summary['objective_mean']:.4f})"
    )


def _same(logged: str | None, value: Any) -> bool:
    if logged is None:
        return False
    try:
        return abs(float(logged) - float(value)) <= 1e-12 * max(1.0, abs(float(value)))
    except ValueError:
        return logged == str(value)


def _job_params(job: SweepJob) -> dict[str, Any]:
    params = {
        "datasets": ",".join(d.name for d in job.datasets),
        "models": ",".join(m.label for m in job.models),
        "strategies": ",".join(job.strategies),
        "seeds": ",".join(map(str, job.seeds)),
        "n_trials": job.n_trials(),
    }
    params.update({f"recipe.{k}": v for k, v in job.recipe.items()})
    params.update({f"train.{k}": v for k, v in job.train.items()})
    params.update(
        flatten("search", {"grid": job.search.grid, "distributions": job.search.distributions})
    )
    return params


__all__ = ["describe_plan", "plan_studies", "run_sweep"]
