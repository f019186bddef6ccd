"""Benchmark: memory and time of one acquisition with the batch diagnostics on.

A linear head over P x D in-memory embeddings (head mode), margin (streamed) and random, batch
100, one thread. Reports the peak memory that ``tracemalloc`` sees during ``acquire`` (numpy and
torch CPU buffers), against the P x D embeddings the diagnostics used to hold.

    nice -n 10 .venv/bin/python bench/diagnostics.py [--rows 200000 400000] [--code PATH]

``--code`` imports raysweep from another checkout (e.g. main, for the before/after comparison).
Writes bench/results/diagnostics-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]


def measure(rows: int, dim: int, classes: int = 10) -> dict[str, object]:
    # imported here: --code picks the checkout (sys.path) only once the arguments are parsed
    from raysweep.data.base import ALDataset, ArrayInputs
    from raysweep.engine.acquisition import acquire
    from raysweep.engine.inference import LocalScorer
    from raysweep.engine.parts import TrajectoryParts
    from raysweep.models.linear_head import LinearHeadAdapter
    from raysweep.spec.trajectory import Recipe, TrainConfig, TrajectorySpec
    from raysweep.strategies import create_strategy

    rng = np.random.default_rng(0)
    inputs = torch.from_numpy(rng.normal(size=(rows + 100, dim)).astype(np.float32))
    labels = rng.integers(0, classes, rows + 100)
    names = tuple(map(str, range(classes)))
    splits = {"train": np.arange(rows), "test": np.arange(rows, rows + 100)}
    dataset = ALDataset("bench", "image", ArrayInputs(inputs), labels, labels, names, names, splits)
    adapter = LinearHeadAdapter(dim, "image")
    model = adapter.create(classes, 0).eval()
    out: dict[str, object] = {
        "rows": rows,
        "dim": dim,
        "pool_embeddings_mib": rows * dim * 4 / 2**20,
    }
    for strategy in ["margin", "random"]:
        spec = TrajectorySpec(
            dataset="bench",
            model="linear",
            strategy=strategy,
            seed=0,
            pretrained=False,
            recipe=Recipe(seed_size=10, first_batch=100, budget=110),
            train=TrainConfig(eval_batch_size=1024),
        )
        parts = TrajectoryParts(dataset, adapter, create_strategy(strategy), [100])
        tracemalloc.start()
        started = time.perf_counter()
        acquisition = acquire(model, parts, np.arange(10), spec, 0, LocalScorer())
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        out[strategy] = {
            "peak_traced_mib": round(peak, 1),
            "seconds": round(seconds, 2),
            "diversity": acquisition.summary["batch/diversity"],
            "representativeness": acquisition.summary["batch/representativeness"],
            "selected_head": acquisition.indices[:5],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000, 400_000])
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--code", default=str(REPO), help="the checkout whose raysweep to import")
    args = parser.parse_args()
    sys.path.insert(0, args.code)
    torch.set_num_threads(1)
    revision = subprocess.run(
        ["git", "-C", args.code, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    results = {
        "code": args.code,
        "revision": revision,
        "machine": f"{platform.node()} {platform.machine()}, torch {torch.__version__}",
        "runs": [measure(rows, args.dim) for rows in args.rows],
    }
    print(json.dumps(results, indent=1))
    out = REPO / "bench" / "results" / f"diagnostics-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
