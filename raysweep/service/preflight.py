"""The preflight: everything a trial would check when it starts, done once in the driver before
Ray starts and before anything is written (no tracking database, no storage folder, no cache).

For every cell it resolves the dataset (once per distinct dataset and args: layout, metadata,
sizes against the recipe), the model (architecture, weights present and fitting, modality), the
strategy and its args, at both ends of every searched range, and checks the metric names the job
optimises and reports against the dataset's splits and groups. No forward pass is run.
"""

from __future__ import annotations

import difflib
import json
import os
from typing import Any

from raysweep.engine.metrics import recorded_metrics
from raysweep.engine.parts import TrajectoryParts, resolve_parts
from raysweep.engine.strategy_inputs import check_dropout
from raysweep.errors import ConfigError, RaysweepError
from raysweep.models import create_adapter, model_train_defaults
from raysweep.service.names import check_names
from raysweep.spec.job import Cell, SweepJob
from raysweep.spec.job_checks import searched_range_ends
from raysweep.spec.trajectory import TrajectorySpec
from raysweep.strategies import Need

# Weights that fitted, by model, args and the file's size and mtime: loading a checkpoint is the
# slowest check (seconds for BiT-R101 or RoBERTa-Large), and a driver or test that checks
# several jobs naming the same unchanged file need not load it again.
_WEIGHTS_FITTED: set[str] = set()


def preflight(job: SweepJob) -> None:
    """One-line :class:`ConfigError` naming the cell and the problem, or nothing."""
    check_names(job)
    for cell in job.cells():
        for sample in searched_range_ends(job):
            try:
                spec = TrajectorySpec.from_dict(
                    cell.spec(job.seeds[0], sample, model_train_defaults(cell.model.name))
                )
                parts = resolve_parts(spec)
                key = _weights_key(spec)
                if key not in _WEIGHTS_FITTED:
                    parts.adapter.check_weights(parts.dataset.num_classes)
                    _WEIGHTS_FITTED.add(key)
                _check_metrics(job, parts)
                if Need.MC_PROBS in parts.strategy.needs:  # a twin without weights: writes nothing
                    twin = create_adapter(spec.model, False, spec.model_args)
                    check_dropout(
                        twin.create(parts.dataset.num_classes, 0), spec.model, spec.strategy
                    )
            except RaysweepError as exc:
                raise ConfigError(f"cell {_label(cell, sample)}: {exc}") from None


def _weights_key(spec: TrajectorySpec) -> str:
    """The check's identity: a file (or a save_pretrained directory's files) rewritten since
    it was checked has another size or mtime, so it is checked again. The number of classes is
    not part of it: the task's head is replaced whatever its size (timm drops a stored head of
    another size, transformers re-initialises it), so one check serves every dataset."""
    weights = spec.model_args.get("weights")
    stamp: list[Any] = []
    if spec.pretrained and isinstance(weights, str) and os.path.exists(weights):
        files = sorted(os.scandir(weights), key=lambda e: e.name) if os.path.isdir(weights) else []
        for path in [weights, *(entry.path for entry in files if entry.is_file())]:
            status = os.stat(path)
            stamp.append([path, status.st_size, status.st_mtime_ns])
    return json.dumps([spec.model, spec.pretrained, spec.model_args, stamp], default=str)


def _check_metrics(job: SweepJob, parts: TrajectoryParts) -> None:
    dataset = parts.dataset
    names = recorded_metrics(
        sorted(dataset.eval_splits), dataset.group_names, dataset.metrics, dataset.log_each_group
    )
    wanted = {"report_metric": job.report_metric}
    if job.search.distributions:
        wanted["search.objective.metric"] = job.search.objective.metric
    for field, metric in wanted.items():
        if metric not in names:
            close = difflib.get_close_matches(metric, names, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"valid: {', '.join(names)}"
            raise ConfigError(
                f"{field} {metric!r} is not recorded for dataset {dataset.name} ({hint})"
            )


def _label(cell: Cell, sample: dict[str, Any]) -> str:
    return cell.cell_id + (f" with {sample}" if sample else "")
