"""Benchmark: seconds and peak memory of every strategy's selection, beside scikit-activeml and
small-text on the same arrays.

Run on demand (not part of the test suite), e.g. the full run:
    nice -n 10 .venv/bin/python bench/strategies.py
or a quick look:
    .venv/bin/python bench/strategies.py --n 20000 --classes 10 --repeats 1 --no-libraries --no-scaling

Inputs are synthetic float32 arrays of the issue's shape (pool N = 100k, embedding d = 768, batch
b = 100, C in {2, 10, 182}, 200 labeled points): embeddings around 50 centres, probabilities
from a linear head over them, 10 MC passes, a committee of 5, 5 training checkpoints. What is
timed is ``Strategy.select`` (input checks included), after the model outputs exist.

Reference: b matrix-vector products over the N x d matrix (the floor of any greedy method that
needs each point's distance to the newest centre). Memory: peak of the allocations traced by
tracemalloc during one selection (NumPy and scikit-learn arrays; BLAS scratch space is not seen),
measured in a separate run from the timed ones. Library calls run in a forked child with a time
limit; the slow ones run at a smaller N (``--library-n``) and the record says so.

Writes bench/results/strategies-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import softmax

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from raysweep.strategies import (  # noqa: E402
    STRATEGIES,
    WRAPPERS,
    LinearHead,
    Need,
    PoolView,
    Strategy,
    create_strategy,
)

MC_PASSES, COMMITTEE, CHECKPOINTS = 10, 5, 5
BASE_FOR_WRAPPERS = "entropy"


@dataclass
class Arrays:
    """One benchmark input: a full PoolView's worth of float32 model outputs."""

    view: PoolView
    seconds_to_build: float


def build_arrays(
    n: int, dims: int, classes: int, labeled: int, seed: int = 0, *, stochastic: bool = True
) -> Arrays:
    """``stochastic=False`` leaves out the MC passes and the committee (BALD and QBC only)."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, dims)).astype(np.float32)
    embeddings = centres[rng.integers(0, 50, n)]
    embeddings += rng.standard_normal((n, dims), dtype=np.float32)
    labeled_embeddings = centres[rng.integers(0, 50, labeled)] + rng.standard_normal(
        (labeled, dims), dtype=np.float32
    )
    weight = (rng.normal(size=(classes, dims)) / math.sqrt(dims)).astype(np.float32)
    bias = np.zeros(classes, dtype=np.float32)

    def probs_of(points: np.ndarray, w: np.ndarray) -> np.ndarray:
        return softmax(3.0 * (points @ w.T), axis=1).astype(np.float32)

    def perturbed(scale: float) -> np.ndarray:
        return weight + (scale * rng.normal(size=weight.shape) / math.sqrt(dims)).astype(np.float32)

    view = PoolView(
        pool_indices=np.arange(labeled, labeled + n),
        labeled_indices=np.arange(labeled),
        rng=np.random.default_rng(seed + 1),
        num_classes=classes,
        labeled_labels=rng.integers(0, classes, labeled),
        probs=probs_of(embeddings, weight),
        embeddings=embeddings,
        labeled_probs=probs_of(labeled_embeddings, weight),
        labeled_embeddings=labeled_embeddings,
        mc_probs=np.stack([probs_of(embeddings, perturbed(0.5)) for _ in range(MC_PASSES)])
        if stochastic
        else None,
        committee_probs=np.stack([probs_of(embeddings, perturbed(1.0)) for _ in range(COMMITTEE)])
        if stochastic
        else None,
        training_dynamics=training_dynamics(labeled, rng),
        head=LinearHead(weight=weight, bias=bias),
    )
    return Arrays(view=view, seconds_to_build=time.perf_counter() - started)


def training_dynamics(labeled: int, rng: np.random.Generator) -> np.ndarray:
    """Each example learned at a random checkpoint and kept; 10% forgotten once, 5% never learned
    (so about 15% minority, as fine-tuning curves look)."""
    learned_at = rng.integers(0, CHECKPOINTS, labeled)
    correct = np.arange(CHECKPOINTS)[None, :] >= learned_at[:, None]
    forgotten = rng.random(labeled) < 0.10
    correct[forgotten, -1] = False
    correct[rng.random(labeled) < 0.05] = False
    return correct


def strategy_args(name: str) -> dict[str, Any]:
    if name in WRAPPERS:
        return {"base": BASE_FOR_WRAPPERS}
    if name == "bald":
        return {"mc_samples": MC_PASSES}
    if name == "qbc_vote_entropy":
        return {"committee_size": COMMITTEE}
    return {}


def with_rng(view: PoolView, seed: int) -> PoolView:
    return PoolView(**{**view.__dict__, "rng": np.random.default_rng(seed)})


def view_for(strategy: Strategy, view: PoolView, seed: int = 1) -> PoolView:
    """Only what ``strategy`` declared, as the engine computes it (the rest None)."""
    outputs = {need.value: None for need in Need}
    outputs.update({need.value: getattr(view, need.value) for need in strategy.needs})
    return PoolView(**{**view.__dict__, **outputs, "rng": np.random.default_rng(seed)})


# -- measuring ------------------------------------------------------------------------------------


def traced_peak_mb(run: Callable[[], object]) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def timed(run: Callable[[], object], repeats: int) -> list[float]:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return seconds


def summary(seconds: list[float], peak_mb: float | None, **extra: Any) -> dict[str, Any]:
    return {
        "median_seconds": round(statistics.median(seconds), 4),
        "min_seconds": round(min(seconds), 4),
        "max_seconds": round(max(seconds), 4),
        "repeats": len(seconds),
        "peak_mb": None if peak_mb is None else round(peak_mb, 1),
        **extra,
    }


def reference_seconds(view: PoolView, batch: int, repeats: int) -> list[float]:
    """b matrix-vector products over the N x d embeddings."""
    vectors = view.embeddings[:batch].copy()

    def run() -> None:
        for vector in vectors:
            view.embeddings @ vector

    return timed(run, repeats)


def measure_ours(name: str, view: PoolView, batch: int, repeats: int) -> dict[str, Any]:
    strategy = create_strategy(name, strategy_args(name))
    seconds = timed(lambda: strategy.select(view_for(strategy, view), batch), repeats)
    peak = traced_peak_mb(lambda: strategy.select(view_for(strategy, view), batch))
    return summary(seconds, peak)


def _library_child(label: str, shape: dict[str, int], queue: mp.Queue) -> None:
    """In a fresh (spawned) process: rebuild the seeded arrays, run one library call twice
    (timed, then traced). Spawned, not forked: OpenMP in a forked child of a process that
    already used it can hang."""
    try:
        view = build_arrays(shape["n"], shape["dims"], shape["classes"], shape["labeled"]).view
        target = library_targets(view, shape["batch"])[label]
        started = time.perf_counter()
        target()
        seconds = time.perf_counter() - started
        queue.put(("ok", seconds, traced_peak_mb(target)))
    except Exception as err:  # reported in the record, not raised: one library failing is data
        queue.put(("error", f"{type(err).__name__}: {err}"[:300], None))


def measure_library(label: str, shape: dict[str, int], limit: float) -> dict[str, Any]:
    """One timed and one traced run of a library call in a child, killed after ``limit`` s."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_library_child, args=(label, shape, queue))
    child.start()
    try:
        status, value, peak = queue.get(timeout=limit)
    except Exception:  # queue.Empty: still running (or died) after the limit
        status, value, peak = "timeout", f"timeout after {limit:.0f} s (arrays built inside)", None
    child.kill()
    child.join()
    if status != "ok":
        return {"status": value, "repeats": 0}
    return summary([value], peak, status="ok")


# -- the libraries, on the same arrays ------------------------------------------------------------


class _SmallTextOutputs:
    def __init__(self, probs: np.ndarray) -> None:
        self.probs = probs

    def predict_proba(self, dataset: object) -> np.ndarray:
        return self.probs


def library_targets(view: PoolView, batch: int) -> dict[str, Callable[[], object]]:
    """Each library's implementation of a raysweep strategy, as a call on ``view``'s arrays."""
    from skactiveml.base import SkactivemlClassifier
    from skactiveml.pool import Badge, ContrastiveAL, k_greedy_center
    from skactiveml.pool._query_by_committee import vote_entropy
    from skactiveml.pool._uncertainty_sampling import uncertainty_scores
    from small_text.query_strategies import (
        BreakingTies,
        ContrastiveActiveLearning,
        EmbeddingKMeans,
        LeastConfidence,
        PredictionEntropy,
    )
    from small_text.query_strategies.bayesian import _bald
    from small_text.query_strategies.coresets import greedy_coreset

    class FixedOutputs(SkactivemlClassifier):
        def __init__(self, probs=None, embeddings=None, classes=None, missing_label=np.nan):
            super().__init__(classes=classes, missing_label=missing_label)
            self.probs, self.embeddings = probs, embeddings

        def fit(self, X, y, sample_weight=None):
            return self

        def predict_proba(self, X, return_embeddings=False):
            rows = np.asarray(X)[:, 0].astype(int)
            probs = self.probs[rows].copy()
            return (probs, self.embeddings[rows]) if return_embeddings else probs

    n, labeled = len(view.pool_indices), len(view.labeled_indices)
    classes = view.probs.shape[1]
    everything = np.vstack([view.labeled_embeddings, view.embeddings])
    all_probs = np.vstack([view.labeled_probs, view.probs])
    y = np.r_[view.labeled_labels.astype(float), np.full(n, np.nan)]
    ids = np.arange(labeled + n, dtype=float)[:, None]
    clf = FixedOutputs(probs=all_probs, embeddings=everything, classes=np.arange(classes))
    pool_first = np.vstack([view.embeddings, view.labeled_embeddings])
    unlabeled, labeled_ids = np.arange(n), np.arange(n, n + labeled)
    small_outputs = _SmallTextOutputs(view.probs)

    def top(scores: np.ndarray) -> np.ndarray:
        return np.argpartition(-scores, batch)[:batch]

    def small_text_confidence(strategy: Any) -> Callable[[], object]:
        return lambda: strategy.query(small_outputs, None, unlabeled, labeled_ids, None, n=batch)

    def small_text_cal() -> object:
        class Embedder:
            def embed(self, dataset, return_proba=False, pbar=None, **kwargs):
                rows = np.asarray(dataset)
                return (pool_first[rows], np.vstack([view.probs, view.labeled_probs])[rows])

        strategy = ContrastiveActiveLearning(k=10, pbar=None)
        return strategy.query(
            Embedder(), np.arange(n + labeled), unlabeled, labeled_ids, None, batch
        )

    return {
        "scikit-activeml/least_confidence": lambda: top(
            uncertainty_scores(view.probs, method="least_confident")
        ),
        "scikit-activeml/margin": lambda: top(
            uncertainty_scores(view.probs, method="margin_sampling")
        ),
        "scikit-activeml/entropy": lambda: top(uncertainty_scores(view.probs, method="entropy")),
        "scikit-activeml/qbc_vote_entropy": lambda: top(
            vote_entropy(view.committee_probs.argmax(axis=2).T, classes=np.arange(classes))
        ),
        "scikit-activeml/coreset": lambda: k_greedy_center(
            everything, y, batch_size=batch, random_state=0
        ),
        "scikit-activeml/badge": lambda: Badge(
            clf_embedding_flag_name="return_embeddings", random_state=0
        ).query(ids, y, clf, fit_clf=False, batch_size=batch),
        "scikit-activeml/cal": lambda: ContrastiveAL(
            nearest_neighbors_dict={"n_neighbors": 10}, clf_embedding_flag_name="return_embeddings"
        ).query(ids, y, clf, fit_clf=False, batch_size=batch),
        "small-text/least_confidence": small_text_confidence(LeastConfidence()),
        "small-text/margin": small_text_confidence(BreakingTies()),
        "small-text/entropy": small_text_confidence(PredictionEntropy()),
        "small-text/bald": lambda: top(_bald(view.mc_probs.transpose(1, 0, 2))),
        "small-text/coreset": lambda: greedy_coreset(
            pool_first, unlabeled, labeled_ids, batch, distance_metric="euclidean"
        ),
        "small-text/bert_km": lambda: EmbeddingKMeans().sample(
            None, None, unlabeled, labeled_ids, None, batch, view.embeddings
        ),
        "small-text/cal": small_text_cal,
    }


# -- the table in BENCHMARKS.md -------------------------------------------------------------------


def markdown(record: dict[str, Any]) -> str:
    """The BENCHMARKS.md tables of one result file."""

    def cell(m: dict[str, Any] | None) -> str:
        if not m:
            return "-"
        if "median_seconds" not in m:
            return m.get("status", "-")
        spread = f" ({m['min_seconds']:.2f}-{m['max_seconds']:.2f})" if m["repeats"] > 1 else ""
        memory = "" if m["peak_mb"] is None else f", {m['peak_mb']:.0f} MB"
        return f"{m['median_seconds']:.2f}{spread} s{memory}"

    by_c = record["by_classes"]
    names = sorted(next(iter(by_c.values()))["raysweep"])
    lines = [
        "| strategy | " + " | ".join(f"C = {c}" for c in by_c) + " |",
        "|---|" + "---|" * len(by_c),
        "| reference (b mat-vec products) | "
        + " | ".join(cell(r["reference"]) for r in by_c.values())
        + " |",
    ]
    for name in names:
        row = [
            f"{cell(r['raysweep'][name])} = {r['raysweep'][name]['x_reference']}x"
            for r in by_c.values()
        ]
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    for c, result in by_c.items():
        if "libraries" not in result:
            continue
        lines += ["", f"Libraries at C = {c} (same arrays; N as given):", ""]
        lines += ["| call | N | library | raysweep at the same N |", "|---|---|---|---|"]
        for label, m in result["libraries"].items():
            ours = m.get("raysweep_at_same_n")
            if ours is None and m["n"] == record["n"]:
                ours = result["raysweep"].get(label.split("/")[1])
            lines.append(f"| {label} | {m['n']:,} | {cell(m)} | {cell(ours)} |")
    if "scaling" in record:
        columns = list(next(iter(record["scaling"].values())))
        lines += ["", "Growth with N (C = 10):", "", "| N | " + " | ".join(columns) + " |"]
        lines.append("|---|" + "---|" * len(columns))
        for n, row in record["scaling"].items():
            lines.append(f"| {int(n):,} | " + " | ".join(cell(row[c]) for c in columns) + " |")
    return "\n".join(lines)


def uptime() -> str:
    """`uptime`'s line (load averages over 1, 5 and 15 minutes), recorded with the result."""
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


# -- main -----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", help="print the markdown tables of a result file and stop")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dims", type=int, default=768)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--labeled", type=int, default=200)
    parser.add_argument("--classes", default="2,10,182")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--strategies", default=",".join(STRATEGIES.names()))
    parser.add_argument("--no-libraries", action="store_true")
    parser.add_argument("--library-classes", default="10", help="C values to run the libraries at")
    parser.add_argument("--library-timeout", type=float, default=90.0)
    parser.add_argument(
        "--library-n",
        type=int,
        default=10_000,
        help="pool size for the library calls known to be slow or memory-hungry at full N",
    )
    parser.add_argument(
        "--slow-library-calls",
        default="scikit-activeml/badge,small-text/coreset,small-text/cal,scikit-activeml/coreset",
    )
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument("--scaling-n", default="10000,100000,1000000")
    parser.add_argument("--scaling-classes", type=int, default=10)
    parser.add_argument("--scaling-strategies", default="badge,coreset")
    args = parser.parse_args()
    if args.table:
        print(markdown(json.loads(Path(args.table).read_text())))
        return 0

    names = [s for s in args.strategies.split(",") if s]
    slow = set(args.slow_library_calls.split(","))
    record: dict[str, Any] = {
        "load_average_at_start": os.getloadavg(),
        "uptime_at_start": uptime(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "n": args.n,
        "dims": args.dims,
        "batch": args.batch,
        "labeled": args.labeled,
        "mc_passes": MC_PASSES,
        "committee": COMMITTEE,
        "wrappers_base": BASE_FOR_WRAPPERS,
        "by_classes": {},
    }
    for classes in [int(c) for c in args.classes.split(",")]:
        arrays = build_arrays(args.n, args.dims, classes, args.labeled)
        view = arrays.view
        reference = reference_seconds(view, args.batch, args.repeats)
        result: dict[str, Any] = {"reference": summary(reference, None), "raysweep": {}}
        print(f"C={classes}: reference {statistics.median(reference):.2f} s", flush=True)
        for name in names:
            result["raysweep"][name] = measured = measure_ours(name, view, args.batch, args.repeats)
            ratio = measured["median_seconds"] / statistics.median(reference)
            measured["x_reference"] = round(ratio, 2)
            print(
                f"  {name:18s} {measured['median_seconds']:8.2f} s  {measured['peak_mb']:8.1f} MB  {ratio:5.2f}x",
                flush=True,
            )
        if not args.no_libraries and str(classes) in args.library_classes.split(","):
            result["libraries"] = {}
            small_view = build_arrays(args.library_n, args.dims, classes, args.labeled).view
            for label in library_targets(small_view, args.batch):
                at_small = label in slow
                n = args.library_n if at_small else args.n
                shape = {"n": n, "dims": args.dims, "classes": classes}
                shape |= {"labeled": args.labeled, "batch": args.batch}
                measured = measure_library(label, shape, args.library_timeout)
                measured["n"] = n
                if at_small and label.split("/")[1] in names:  # ours at the same N, same arrays
                    ours = measure_ours(label.split("/")[1], small_view, args.batch, args.repeats)
                    measured["raysweep_at_same_n"] = ours
                result["libraries"][label] = measured
                shown = measured.get("median_seconds", measured.get("status"))
                print(f"  {label:34s} N={n:>7}  {shown}", flush=True)
        record["by_classes"][str(classes)] = result
        del arrays, view

    if not args.no_scaling:
        record["scaling"] = {}
        for n in [int(v) for v in args.scaling_n.split(",")]:
            arrays = build_arrays(
                n, args.dims, args.scaling_classes, args.labeled, stochastic=False
            )
            reference = reference_seconds(arrays.view, args.batch, 1)
            row: dict[str, Any] = {"reference": summary(reference, None)}
            for name in args.scaling_strategies.split(","):
                row[name] = measure_ours(name, arrays.view, args.batch, 1)
            record["scaling"][str(n)] = row
            shown = ", ".join(f"{k} {v['median_seconds']:.2f} s" for k, v in row.items())
            print(f"N={n}: {shown}", flush=True)
            del arrays

    record["load_average_at_end"] = os.getloadavg()
    record["uptime_at_end"] = uptime()
    out = REPO / "bench" / "results" / f"strategies-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
