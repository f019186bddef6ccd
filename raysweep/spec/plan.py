"""The plan of a sweep: its Tune studies, the dry-run description, and the sweep's identity.

Grid axes and Optuna do not mix in one Tuner (Ray rejects grid_search with OptunaSearch), so a job
is planned as *studies*: without Optuna distributions, one Tuner runs every (cell, seed) of the
grid at full concurrency; with them, each cell gets its own Tuner whose OptunaSearch proposes
configurations and a Repeater runs each one for every seed (the objective is the seed mean).
Nothing here imports Ray or torch, so ``--dry-run`` stays cheap.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from raysweep.spec.job import Cell, SweepJob


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
        variant = ""
        if job.strategy_name(cell.strategy) != cell.strategy:  # a labelled variant: what it runs
            args = json.dumps(job.strategy_args.get(cell.strategy, {}), sort_keys=True)
            variant = f" ({cell.strategy} = {job.strategy_name(cell.strategy)} {args})"
        lines.append(f"  {cell.cell_id}: seeds {job.seeds} x {per_cell} config(s){variant}")
    return "\n".join(lines)


def sweep_id(job: SweepJob) -> str:
    """Same job name and storage path = same sweep (a rerun resumes it, never duplicates it)."""
    key = json.dumps([job.name, resolve_storage(job.storage_path)])
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def resolve_storage(path: str) -> str:
    """Local paths made absolute (trials run elsewhere); URIs such as s3://... kept as they are."""
    return path if "://" in path else str(Path(path).resolve())


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
    if job.strategy_names:  # only when used: jobs of plain names keep their fingerprint
        defining["strategy_names"] = job.strategy_names
    raw = json.dumps(defining, sort_keys=True, default=lambda o: o.__dict__)
    return hashlib.sha1(raw.encode()).hexdigest()[:16]
