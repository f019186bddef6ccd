"""The Ray Tune trainable: one trial = one AL trajectory, reported and checkpointed every round."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from ray import tune

from raysweep.analysis.curves import area_under_curve
from raysweep.engine.device import pick_device
from raysweep.engine.inference import Scorer
from raysweep.engine.trajectory import Trajectory
from raysweep.errors import RaysweepError, first_line
from raysweep.scoring import build_scorer, close_scorer
from raysweep.service.metrics import RoundMetrics
from raysweep.service.trial_tracker import TrialTracker, run_finished
from raysweep.spec.scoring import ScoringConfig
from raysweep.spec.trajectory import TrajectorySpec
from raysweep.tracking.layout import (
    TAG_CELL,
    TAG_GROUP,
    TAG_SWEEP,
    TAG_TRIAL_ID,
    TAG_TRIAL_KEY,
    flatten,
)

RUN_ID_FILE = "mlflow_run_id.txt"
CONTEXT_KEY = "raysweep"  # sweep-level context in the trial config (not a hyperparameter)


def objective_value(records: list[Any], metric: str, summary: str) -> float | None:
    """The Optuna objective so far: area under the curve of ``metric`` (mean height) or its last value."""
    points = [(r.n_labels, r.flat_metrics()[metric]) for r in records if metric in r.flat_metrics()]
    if not points:
        return None
    if summary == "final" or len(points) == 1:
        return float(points[-1][1])
    labels, values = zip(*points, strict=True)
    return area_under_curve(np.array(labels), np.array(values))


def trial_key(cell: str, seed: int, sampled: dict[str, Any] | None, trial_id: str) -> str:
    """A short stable id of one trial within its sweep (for finding its MLflow run again)."""
    raw = json.dumps([cell, seed, sampled or {}, trial_id], sort_keys=True, default=str)
    return hashlib.sha1(raw.encode()).hexdigest()[:20]


def trial_spec(config: dict[str, Any]) -> TrajectorySpec:
    """The trial's trajectory: the cell's spec, its seed, and any sampled hyperparameters."""
    spec = {
        **config["spec"],
        "recipe": dict(config["spec"]["recipe"]),
        "train": dict(config["spec"]["train"]),
    }
    for section in ("strategy_args", "model_args"):
        spec[section] = dict(spec.get(section, {}))
    seeds = config.get("seeds")
    if seeds is not None:  # Optuna path: Repeater numbers the repeats of one configuration
        spec["seed"] = seeds[int(config.get("__trial_index__", 0))]
    for encoded, value in (config.get("hp") or {}).items():
        section, key = encoded.split("__", 1)
        spec[section][key] = value
    return TrajectorySpec.from_dict(spec)


#: Errors a retry would meet again (a trajectory is deterministic): a setting that cannot work,
#: model outputs a strategy cannot use, a diverged loss. Retries are for crashes and preemption.
DETERMINISTIC_ERRORS = (RaysweepError, FloatingPointError)
#: Result key of a trial that ended with a deterministic error (Tune sees it finish normally).
FAILED_KEY = "raysweep_failed"


def run_trial(config: dict[str, Any]) -> None:
    """Run (or continue) one trajectory; report metrics and a round checkpoint after every round."""
    # one "Checkpoint successfully created" line per round and trial drowns the sweep's progress
    logging.getLogger("ray.train._internal.storage").setLevel(logging.WARNING)
    if "trial" in config:  # grid studies wrap the trial's fixed entry in one grid_search axis
        config = {**config["trial"], CONTEXT_KEY: config[CONTEXT_KEY]}
    context = config[CONTEXT_KEY]
    spec = trial_spec(config)
    started = time.perf_counter()
    run_id = None
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            run_id = (Path(directory) / RUN_ID_FILE).read_text().strip()
    if run_id is not None and run_finished(context["tracking_uri"], run_id):
        # the driver died after this trial finished but before Tune recorded it: nothing to redo
        return
    # the run exists before any data or weights are touched, so every failure is recorded on it
    tracker = _open_tracker(config, spec, run_id)
    scorer: Scorer | None = None
    try:
        scorer = build_scorer(ScoringConfig.from_dict(context.get("scoring")), pick_device())
        trajectory = Trajectory(spec, scorer=scorer, embedding_store=context.get("embedding_store"))
        if checkpoint is not None:
            with checkpoint.as_directory() as directory:
                trajectory.restore(directory)
        _run_rounds(trajectory, tracker, context)
        tracker.client.log_metric(tracker.run_id, "trial/seconds", time.perf_counter() - started)
        model = f"{spec.model} ({'pretrained' if spec.pretrained else 'random init'})"
        title = f"{spec.dataset} / {model} / {spec.label} / seed {spec.seed}"
        tracker.finish(trajectory.records, trajectory.dataset.group_names, title)
    except DETERMINISTIC_ERRORS as exc:
        tracker.fail(exc)
        # end the trial now instead of raising: Tune would retry it max_failures times in vain
        tune.report({FAILED_KEY: 1, "objective": math.nan, "error": first_line(exc)})
    except Exception as exc:  # a killed worker raises nothing: its run stays RUNNING, resumed later
        tracker.fail(exc)
        raise
    finally:
        if scorer is not None:
            close_scorer(scorer)  # the trajectory is over: its scoring actors go


def _open_tracker(config: dict[str, Any], spec: TrajectorySpec, run_id: str | None) -> TrialTracker:
    context = config[CONTEXT_KEY]
    # Tune's trial id is stable across retries and restores, and tells apart two trials that
    # Optuna gave the same configuration
    trial_id = tune.get_context().get_trial_id()
    return TrialTracker(
        context["tracking_uri"],
        context["experiment_id"],
        context["parent_run_id"],
        run_name=f"{config['cell']}-seed{spec.seed}",
        tags={
            TAG_CELL: config["cell"],
            TAG_GROUP: config["group"],
            TAG_SWEEP: context["sweep_id"],
            TAG_TRIAL_ID: trial_id,
            "dataset": spec.dataset,
            "model": spec.model,
            "pretrained": str(spec.pretrained),
            "strategy": spec.label,
            "seed": str(spec.seed),
            TAG_TRIAL_KEY: trial_key(config["cell"], spec.seed, config.get("hp"), trial_id),
        },
        params=flatten("", spec.to_dict()),
        run_id=run_id,
    )


def _run_rounds(trajectory: Trajectory, tracker: TrialTracker, context: dict[str, Any]) -> None:
    """Every remaining round: logged to MLflow, then reported to Tune with a round checkpoint."""
    metric, summary = context["objective_metric"], context["objective_summary"]
    exported = RoundMetrics(context["sweep_name"], trajectory.spec)  # Prometheus, through Ray
    for record in trajectory.rounds():
        tracker.log_round(record)
        exported.record(record)
        metrics = {
            "round": record.round,
            "n_labels": record.n_labels,
            "rounds_total": trajectory.n_rounds,
            **{k: v for k, v in record.flat_metrics().items() if "/group/" not in k},
        }
        objective = objective_value(trajectory.records, metric, summary)
        if objective is not None:
            metrics["objective"] = objective
        with tempfile.TemporaryDirectory() as tmp:
            trajectory.save(tmp)
            (Path(tmp) / RUN_ID_FILE).write_text(tracker.run_id)
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))
