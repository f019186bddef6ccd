"""The sweep driver: runs the planned Tune studies of a job (resuming any that exist), under the
sweep's MLflow parent run, and ends with the label-efficiency report (see ``spec.plan``)."""

from __future__ import annotations

import functools
import os
import time
from typing import Any

import ray
from mlflow.tracking import MlflowClient
from ray import tune

from raysweep.analysis.html_report import report_sweep_html
from raysweep.analysis.sweep_report import report_group, report_sweep
from raysweep.errors import first_line
from raysweep.registry import plugin_sources
from raysweep.service.best_config import mark_best_configuration
from raysweep.service.preflight import preflight
from raysweep.service.progress import SweepProgress
from raysweep.service.ray_session import check_resources, connect_ray, local_resources
from raysweep.service.storage import check_storage
from raysweep.service.sweep_settings import check_resume_settings, record_settings
from raysweep.service.trainable import FAILED_KEY
from raysweep.service.tune_state import check_tune_states
from raysweep.service.tuners import new_tuner, trainable
from raysweep.spec.job import SweepJob
from raysweep.spec.plan import Study, job_fingerprint, plan_studies, resolve_storage, sweep_id
from raysweep.tracking.layout import flatten
from raysweep.tracking.store import (
    check_same_job,
    check_tracking_uri,
    ensure_experiment,
    find_parent_run,
    open_parent_run,
    resolve_tracking_uri,
    store_exists,
)


def run_sweep(job: SweepJob, resume: bool = False) -> dict[str, Any]:
    """Run (or resume) every study of ``job``; returns the label-efficiency report and the
    trials that failed. Every check comes before Ray starts and before anything is written."""
    uri = resolve_tracking_uri(job.tracking_uri)
    check_tracking_uri(uri)
    check_storage(job.storage_path)
    check_tune_states(job)  # cheap, and a cut-off state makes the rest moot
    preflight(job)
    check_resume_settings(job, uri)
    attach = bool(os.environ.get("RAY_ADDRESS"))
    if not attach:
        check_resources(job, local_resources())
    client = MlflowClient(uri)
    sid, fingerprint = sweep_id(job), job_fingerprint(job)
    if store_exists(uri):
        check_same_job(find_parent_run(client, job.experiment_name, sid), fingerprint, job.name)
    names = [d.name for d in job.datasets] + [m.name for m in job.models]
    names += [job.strategy_name(label) for label in job.strategies]
    connect_ray(plugin_sources(names))
    if attach:
        check_resources(job, ray.cluster_resources())
    record_settings(job, uri)
    experiment_id = ensure_experiment(client, job.experiment_name, uri)
    parent = open_parent_run(
        client, job.experiment_name, experiment_id, sid, job.name, _job_params(job), fingerprint
    )
    context = {
        "tracking_uri": uri,
        "experiment_id": experiment_id,
        "parent_run_id": parent,
        "sweep_id": sid,
        "sweep_name": job.name,  # a low-cardinality tag of the exported Prometheus metrics
        "objective_metric": job.search.objective.metric,
        "objective_summary": job.search.objective.summary,
    }
    storage = resolve_storage(job.storage_path)
    started = time.time()
    progress = SweepProgress(
        total=job.n_trials(),
        metric=job.report_metric,
        **_incremental_reporting(job, uri, parent),
    )
    failed = []
    for study in plan_studies(job):
        failed += _run_study(job, study, context, storage, resume, progress)
    report = report_sweep(job, client, parent)
    report["failed"] = failed
    report_sweep_html(job, client, parent)  # report/index.html on the parent run
    report["wall_seconds"] = time.time() - started
    report["max_concurrent"] = job.max_concurrent
    client.log_metric(parent, "sweep/wall_seconds", report["wall_seconds"])
    client.set_terminated(parent, "FINISHED")
    report["parent_run_id"] = parent
    report["experiment_id"] = experiment_id
    report["sweep_id"] = sid  # the MLflow UI link lists this sweep's runs
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


def _run_study(
    job: SweepJob,
    study: Study,
    context: dict[str, Any],
    storage: str,
    resume: bool,
    progress: SweepProgress,
) -> list[str]:
    """Run or resume one Tune study; one line per trial that failed for good."""
    path = os.path.join(storage, study.name)
    if tune.Tuner.can_restore(path):
        # finished trials stay finished; unfinished ones continue from their last round checkpoint
        tuner = tune.Tuner.restore(
            path, trainable=trainable(job), resume_unfinished=True, resume_errored=True
        )
    else:
        if resume:
            print(f"[raysweep] nothing to resume at {path}; starting study {study.name}")
        tuner = new_tuner(job, study, context, storage, progress)
    results = tuner.fit()
    if study.optuna:
        mark_best_configuration(job, study, results, context)
    return [_failure_line(result) for result in results if _failed(result)]


def _failed(result: Any) -> bool:
    return result.error is not None or bool((result.metrics or {}).get(FAILED_KEY))


def _failure_line(result: Any) -> str:
    """The trial's name and its error; the traceback is on the trial's FAILED MLflow run."""
    name = os.path.basename(result.path)
    error = (result.metrics or {}).get("error") or first_line(result.error)
    return f"{name}: {error}"


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


__all__ = ["run_sweep"]
