"""MLflow layout: one parent run per sweep, one child run per trial, metrics keyed by labels.

The trial talks to MLflow directly (not through Ray's MLflow callback, which cannot nest runs and
starts a new run when a trial resumes). The child run id travels in the trial checkpoint, so a
resumed trial continues its own run; rounds already logged are skipped, so a round re-run after a
crash between "log" and "checkpoint" never duplicates a step.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.entities import Metric, Param, Run, RunTag
from mlflow.tracking import MlflowClient

from raysweep.errors import ConfigError
from raysweep.state import RoundRecord

STEP_METRIC = "n_labels"  # logged every round; its history says which steps exist
TAG_SWEEP = "raysweep.sweep_id"
TAG_CELL = "raysweep.cell"
TAG_GROUP = "raysweep.group"
TAG_CONFIG = "raysweep.config_id"
TAG_FAILURE = "raysweep.failure"
TAG_FINGERPRINT = "raysweep.job_fingerprint"
# identity of a trial within its sweep (cell, seed, sampled values), to find its run again
TAG_TRIAL_KEY = "raysweep.trial_key"
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-./ :]")


def metric_key(name: str) -> str:
    """MLflow accepts letters, digits, _ - . / space and colon in keys; map anything else to '_'."""
    return _UNSAFE.sub("_", name)


def resolve_tracking_uri(uri: str) -> str:
    """Make local stores absolute, so Ray workers with another working directory find them."""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return "sqlite:///" + str(Path(uri.removeprefix("sqlite:///")).resolve())
    if "://" not in uri:
        return Path(uri).resolve().as_uri()
    return uri


def artifact_root(uri: str) -> str | None:
    """For a sqlite store, keep artifacts beside the database file (not in the CWD of a worker)."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").resolve().as_uri()
    return None


def check_tracking_uri(uri: str) -> None:
    """Fail fast with one line if the tracking store cannot be reached or written."""
    if uri.startswith("sqlite:///"):
        directory = Path(uri.removeprefix("sqlite:///")).parent
        if not directory.is_dir() or not os.access(directory, os.W_OK):
            raise ConfigError(
                f"tracking URI {uri}: directory {directory} does not exist or is not writable"
            )
        return
    if uri.startswith(("http://", "https://")):
        import requests  # a bare probe: the MLflow client would retry for minutes first

        try:
            response = requests.get(uri.rstrip("/") + "/health", timeout=10)
            response.raise_for_status()
        except Exception as exc:
            raise ConfigError(f"tracking URI {uri} is unreachable: {type(exc).__name__}") from None


def ensure_experiment(client: MlflowClient, name: str, uri: str) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        if experiment.lifecycle_stage == "deleted":
            raise ConfigError(
                f"MLflow experiment {name!r} is deleted; restore it or pick another name"
            )
        return experiment.experiment_id
    root = artifact_root(uri)
    return client.create_experiment(name, artifact_location=f"{root}/{name}" if root else None)


def find_parent_run(client: MlflowClient, experiment_name: str, sweep_id: str) -> Run | None:
    """The parent run of an earlier start of this sweep, if any (read-only)."""
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        return None
    found = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`{TAG_SWEEP}` = '{sweep_id}' and tags.`raysweep.role` = 'sweep'",
        max_results=1,
    )
    return found[0] if found else None


def check_same_job(parent: Run | None, fingerprint: str, name: str) -> None:
    """Resuming a sweep with a changed job would mix two experiments under one parent run."""
    if parent is None:
        return
    recorded = parent.data.tags.get(TAG_FINGERPRINT)
    if recorded is not None and recorded != fingerprint:
        raise ConfigError(
            f"sweep {name!r} was started from a different job (axes, recipe, train or search changed); "
            "give the job a new name or storage path to start a new sweep"
        )


def open_parent_run(
    client: MlflowClient,
    experiment_id: str,
    sweep_id: str,
    name: str,
    params: dict[str, Any],
    fingerprint: str,
) -> str:
    """The sweep's parent run: reused when the same sweep resumes, created otherwise."""
    found = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{TAG_SWEEP}` = '{sweep_id}' and tags.`raysweep.role` = 'sweep'",
        max_results=1,
    )
    if found:
        run_id = found[0].info.run_id
        client.update_run(run_id, status="RUNNING")
        return run_id
    tags = {TAG_SWEEP: sweep_id, "raysweep.role": "sweep", TAG_FINGERPRINT: fingerprint}
    run = client.create_run(experiment_id, run_name=name, tags=tags)
    log_params(client, run.info.run_id, params)
    return run.info.run_id


def log_params(client: MlflowClient, run_id: str, params: dict[str, Any]) -> None:
    flat = [Param(metric_key(k), str(v)[:6000]) for k, v in params.items()]
    for start in range(0, len(flat), 100):
        client.log_batch(run_id, params=flat[start : start + 100])


def flatten(prefix: str, value: Any) -> dict[str, Any]:
    """Nested dicts to dotted keys: {"train": {"lr": 1}} -> {"train.lr": 1}."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(flatten(f"{prefix}.{key}" if prefix else str(key), inner))
        return out
    return {prefix: value}


def round_metrics(record: RoundRecord) -> dict[str, float]:
    """Everything a round reports, as flat MLflow metrics (step = number of labels)."""
    metrics: dict[str, float] = {STEP_METRIC: float(record.n_labels), "round": float(record.round)}
    metrics.update(record.flat_metrics())
    metrics["train/seconds"] = record.train["seconds"]
    metrics["train/steps"] = float(record.train["steps"])
    metrics["train/final_loss"] = record.train["final_loss"]
    acquisition = record.acquisition
    if acquisition is not None:
        metrics["select/seconds"] = acquisition.select_seconds
        metrics["select/score_seconds"] = acquisition.score_seconds
        total = acquisition.select_seconds + acquisition.score_seconds
        if total > 0:
            metrics["select/throughput_points_per_s"] = acquisition.pool_size / total
        metrics["select/pool_size"] = float(acquisition.pool_size)
        metrics["select/mean_score"] = sum(acquisition.scores) / len(acquisition.scores)
        metrics.update({f"acquired/{k}": v for k, v in acquisition.summary.items()})
    return {k: v for k, v in metrics.items() if v is not None and math.isfinite(v)}


def run_finished(tracking_uri: str, run_id: str) -> bool:
    """True once :meth:`TrialTracker.finish` completed for this run (it is the very last step)."""
    return MlflowClient(tracking_uri).get_run(run_id).info.status == "FINISHED"


class TrialTracker:
    """The child run of one trial; created once, continued on resume."""

    def __init__(
        self,
        tracking_uri: str,
        experiment_id: str,
        parent_run_id: str,
        run_name: str,
        tags: dict[str, str],
        params: dict[str, Any],
        run_id: str | None = None,
    ) -> None:
        self.client = MlflowClient(tracking_uri)
        if run_id is None:
            # a trial that died before its first checkpoint has a run but no run id to carry:
            # find it by the trial's identity instead of opening a duplicate
            run_id = self._find_existing(experiment_id, parent_run_id, tags.get(TAG_TRIAL_KEY))
        if run_id is None:
            run = self.client.create_run(
                experiment_id,
                run_name=run_name,
                tags={"mlflow.parentRunId": parent_run_id, "raysweep.role": "trial", **tags},
            )
            run_id = run.info.run_id
            log_params(self.client, run_id, params)
        else:  # a retry or a resumed sweep: continue the same run, clear a previous failure
            self.client.update_run(run_id, status="RUNNING")
            log_params(self.client, run_id, params)  # identical values: a no-op, or fills a gap
            tags = self.client.get_run(run_id).data.tags
            for key in (TAG_FAILURE, "raysweep.error"):
                if key in tags:
                    self.client.delete_tag(run_id, key)
        self.run_id = run_id
        history = self.client.get_metric_history(run_id, STEP_METRIC)
        self._logged_steps = {int(m.step) for m in history}

    def _find_existing(
        self, experiment_id: str, parent_run_id: str, trial_key: str | None
    ) -> str | None:
        if trial_key is None:
            return None
        found = self.client.search_runs(
            [experiment_id],
            filter_string=f"tags.`mlflow.parentRunId` = '{parent_run_id}' and tags.`{TAG_TRIAL_KEY}` = '{trial_key}'",
            max_results=1,
        )
        return found[0].info.run_id if found else None

    def log_round(self, record: RoundRecord) -> None:
        if record.n_labels in self._logged_steps:
            return  # this round was logged before an interruption: same values, skip
        now = int(time.time() * 1000)
        metrics = [
            Metric(metric_key(k), float(v), now, record.n_labels)
            for k, v in round_metrics(record).items()
        ]
        # the step metric goes last: if a batch fails midway, the round is retried, not skipped
        metrics.sort(key=lambda m: m.key == STEP_METRIC)
        for start in range(0, len(metrics), 500):
            self.client.log_batch(self.run_id, metrics=metrics[start : start + 500])
        self._logged_steps.add(record.n_labels)

    def finish(self, records: list[RoundRecord], group_names: tuple[str, ...], title: str) -> None:
        from raysweep.plots import plot_trial_curve

        with tempfile.TemporaryDirectory() as tmp:
            table = acquisitions_table(records, group_names)
            table.to_parquet(Path(tmp) / "acquisitions.parquet", index=False)
            evaluated = [rec for rec in records if rec.metrics]
            curves = (
                {
                    key: np.array([rec.flat_metrics()[key] for rec in evaluated])
                    for key in evaluated[-1].flat_metrics()
                    if key.endswith("accuracy") and "/group/" not in key
                }
                if evaluated
                else {}
            )
            if curves:
                labels = np.array([rec.n_labels for rec in evaluated])
                plot_trial_curve(labels, curves, Path(tmp) / "learning_curve.png", title=title)
            (Path(tmp) / "rounds.json").write_text(json.dumps([_record_dict(r) for r in records]))
            self.client.log_artifacts(self.run_id, tmp)
        self.client.set_terminated(self.run_id, "FINISHED")

    def fail(self, exc: BaseException) -> None:
        text = "".join(traceback.format_exception(exc))
        self.client.log_batch(
            self.run_id,
            tags=[
                RunTag(TAG_FAILURE, type(exc).__name__),
                RunTag("raysweep.error", str(exc)[:4000] or type(exc).__name__),
            ],
        )
        self.client.log_text(self.run_id, text, "traceback.txt")
        self.client.set_terminated(self.run_id, "FAILED")


def acquisitions_table(records: list[RoundRecord], group_names: tuple[str, ...]) -> pd.DataFrame:
    """One row per acquired point: index, round, score, class, group (name), acquisition order."""
    rows = []
    for rec in records:
        acq = rec.acquisition
        if acq is None:
            continue
        for rank, (index, score, label, group) in enumerate(
            zip(acq.indices, acq.scores, acq.labels, acq.groups, strict=True)
        ):
            rows.append(
                {
                    "index": index,
                    "round": rec.round,
                    "rank": rank,
                    "score": score,
                    "label": label,
                    "group": group,
                    "group_name": group_names[group],
                    "n_labels_before": rec.n_labels,
                }
            )
    columns = ["index", "round", "rank", "score", "label", "group", "group_name", "n_labels_before"]
    return pd.DataFrame(rows, columns=columns)


def _record_dict(record: RoundRecord) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(record)
