"""raysweep's own Prometheus metrics, exported by Ray's metrics agent beside Ray's (``ray_`` prefix).

The driver counts trials (running, finished, failed: gauges from the first trial on, so a
dashboard shows 0 rather than no data) from a Tune callback; each trial records its
rounds (rounds, labels acquired, rows scored, scoring throughput, selection and training time).
Tags stay low-cardinality (sweep name, dataset, model, strategy: never a trial, seed or run id),
so a thousand-trial sweep is still a handful of series. ``dashboards/raysweep.json`` plots them.

Metric objects and counts are kept per process, never on a callback: Tune pickles its callbacks
with the experiment, and a resumed driver must not carry stale ones.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ray.tune import Callback
from ray.util.metrics import Counter, Gauge, Histogram

from raysweep.engine.state import RoundRecord
from raysweep.spec.trajectory import TrajectorySpec

SWEEP_TAGS = ("sweep",)
ROUND_TAGS = ("sweep", "dataset", "model", "strategy")
# seconds: from a linear head on a few hundred rows to fine-tuning a ResNet on a GPU
SECONDS_BOUNDARIES = [0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0]


@dataclass(frozen=True)
class DriverInstruments:
    running: Gauge
    finished: Gauge
    failed: Gauge


@dataclass(frozen=True)
class TrialInstruments:
    rounds: Counter
    labels_acquired: Counter
    rows_scored: Counter
    scoring_rows_per_second: Gauge
    selection_seconds: Histogram
    scoring_seconds: Histogram
    training_seconds: Histogram


@functools.cache
def driver_instruments() -> DriverInstruments:
    return DriverInstruments(
        running=Gauge("raysweep_trials_running", "Trials running now", tag_keys=SWEEP_TAGS),
        # gauges, not counters: a counter cannot be set to 0, and "0 failed" is worth a panel
        finished=Gauge(
            "raysweep_trials_finished", "Trials finished since the driver started", SWEEP_TAGS
        ),
        failed=Gauge(
            "raysweep_trials_failed",
            "Trials failed after their retries since the driver started",
            SWEEP_TAGS,
        ),
    )


@functools.cache
def trial_instruments() -> TrialInstruments:
    def histogram(name: str, description: str) -> Histogram:
        return Histogram(name, description, boundaries=SECONDS_BOUNDARIES, tag_keys=ROUND_TAGS)

    return TrialInstruments(
        rounds=Counter("raysweep_al_rounds", "AL rounds completed", tag_keys=ROUND_TAGS),
        labels_acquired=Counter(
            "raysweep_labels_acquired", "Labels acquired by the strategies", tag_keys=ROUND_TAGS
        ),
        rows_scored=Counter(
            "raysweep_rows_scored", "Pool rows scored for acquisition", tag_keys=ROUND_TAGS
        ),
        scoring_rows_per_second=Gauge(
            "raysweep_scoring_rows_per_second",
            "Model-inference throughput of the last scoring pass of a trial",
            tag_keys=ROUND_TAGS,
        ),
        selection_seconds=histogram("raysweep_selection_seconds", "Strategy seconds per round"),
        scoring_seconds=histogram("raysweep_scoring_seconds", "Pool-scoring seconds per round"),
        training_seconds=histogram("raysweep_training_seconds", "Fine-tuning seconds per round"),
    )


def sweep_name(config: dict[str, Any], context_key: str) -> str:
    """The sweep's name from a trial config (empty for sweeps started before it was recorded)."""
    return str(config.get(context_key, {}).get("sweep_name", ""))


class RoundMetrics:
    """Records each finished round of one trial."""

    def __init__(self, sweep: str, spec: TrajectorySpec) -> None:
        model = spec.model if spec.pretrained else f"{spec.model} (random init)"
        self.tags = {"sweep": sweep, "dataset": spec.dataset, "model": model}
        self.tags["strategy"] = spec.label
        self.instruments = trial_instruments()

    def record(self, record: RoundRecord) -> None:
        metrics, tags = self.instruments, self.tags
        metrics.rounds.inc(1.0, tags=tags)
        metrics.training_seconds.observe(float(record.train["seconds"]), tags=tags)
        acquisition = record.acquisition
        if acquisition is None:  # the last round trains and evaluates but acquires nothing
            return
        if acquisition.indices:
            metrics.labels_acquired.inc(float(len(acquisition.indices)), tags=tags)
        if acquisition.pool_size:
            metrics.rows_scored.inc(float(acquisition.pool_size), tags=tags)
        if acquisition.score_seconds > 0:
            rate = acquisition.pool_size / acquisition.score_seconds
            metrics.scoring_rows_per_second.set(rate, tags=tags)
        metrics.scoring_seconds.observe(acquisition.score_seconds, tags=tags)
        metrics.selection_seconds.observe(acquisition.select_seconds, tags=tags)


@dataclass
class TrialCounts:
    running: set[str] = field(default_factory=set)  # trial ids
    finished: int = 0
    failed: int = 0


# per sweep, for the whole driver process: a sweep runs one Tuner (and one callback) per study
_COUNTS: dict[str, TrialCounts] = {}


class TrialCountMetrics(Callback):
    """Tune callback in the driver: trials running, finished and failed (gauges, per sweep)."""

    def __init__(self, context_key: str) -> None:
        self.context_key = context_key

    def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._update(trial, lambda counts: counts.running.add(trial.trial_id))

    def on_trial_recover(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        # it restarts (on_trial_start) after its retry
        self._update(trial, lambda counts: counts.running.discard(trial.trial_id))

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._update(trial, lambda counts: _ended(counts, trial.trial_id, failed=False))

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._update(trial, lambda counts: _ended(counts, trial.trial_id, failed=True))

    def _update(self, trial: Any, change: Callable[[TrialCounts], object]) -> None:
        sweep = sweep_name(trial.config, self.context_key)
        counts = _COUNTS.setdefault(sweep, TrialCounts())
        change(counts)
        tags = {"sweep": sweep}
        instruments = driver_instruments()
        instruments.running.set(float(len(counts.running)), tags=tags)
        instruments.finished.set(float(counts.finished), tags=tags)
        instruments.failed.set(float(counts.failed), tags=tags)


def _ended(counts: TrialCounts, trial_id: str, failed: bool) -> None:
    counts.running.discard(trial_id)
    if failed:
        counts.failed += 1
    else:
        counts.finished += 1
