"""Benchmark: the scorer backends (local vs Ray Data), peak memory of streamed top-k, the embedding
pass, and one AL round in head mode vs full fine-tuning.

    nice -n 10 .venv/bin/python bench/scoring.py [--rows 100000] [--repeats 3] [--only NAME]
    .venv/bin/python bench/scoring.py --gpu   # on a GPU machine: BiT-M-R50x1 bf16 images/s

Writes bench/results/scoring-<timestamp>.json (medians, min/max, the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from raysweep.data.base import ALDataset, ArrayInputs  # noqa: E402
from raysweep.engine.inference import LocalScorer, ScoreRequest, TopKRequest  # noqa: E402
from raysweep.engine.streaming import row_score  # noqa: E402
from raysweep.models import create_adapter  # noqa: E402
from raysweep.models.linear_head import LinearHeadAdapter  # noqa: E402
from raysweep.strategies import create_strategy  # noqa: E402


def image_pool(rows: int, size: int = 32) -> ALDataset:
    images = torch.from_numpy(np.random.default_rng(0).random((rows, 3, size, size), np.float32))
    return _dataset(ArrayInputs(images), rows, "image")


def embedding_pool(rows: int, dim: int = 64) -> ALDataset:
    data = torch.from_numpy(np.random.default_rng(0).standard_normal((rows, dim), np.float32))
    return _dataset(ArrayInputs(data), rows, "image")


def _dataset(inputs: ArrayInputs, rows: int, modality: str) -> ALDataset:
    labels = np.arange(rows) % 10
    return ALDataset(
        name="bench", modality=modality, inputs=inputs, labels=labels, groups=labels,
        class_names=tuple(map(str, range(10))), group_names=tuple(map(str, range(10))),
        splits={"train": np.arange(rows)},
    )  # fmt: skip


def top_k_request(rows: int, k: int = 100, batch: int = 256) -> ScoreRequest:
    tie = np.random.default_rng(1).random(rows)
    score = row_score(create_strategy("entropy"))
    return ScoreRequest(probs=False, top_k=TopKRequest(k, tie, score), batch_size=batch)


def scorer(name: str):
    if name == "local":
        return LocalScorer("cpu")
    from raysweep.scoring import RayDataScorer

    actors = int(name.split("x")[1])
    return RayDataScorer(actors=actors, cpus_per_actor=1.0 if actors == 1 else 0.9)


def throughput(rows: int, repeats: int) -> dict:
    """rows/s of streamed top-k (entropy) over ``rows`` 32x32 images with timm's tiny ResNet.

    One scorer per backend, as one trial keeps one: its first request (which starts the Ray Data
    actors and shares the inputs) is timed apart, on 10k rows, then ``repeats`` full requests.
    """
    import ray

    torch.set_num_threads(1)  # one core per scorer, as the actors get
    ray.init(address="local", num_cpus=2, include_dashboard=False)
    dataset = image_pool(rows)
    adapter = create_adapter("tiny_cnn", False, {})
    model = adapter.create(10, 0).eval()
    pool = np.arange(rows)
    out = {}
    selections = {}
    for name in ("local", "ray_datax1", "ray_datax2"):
        backend = scorer(name)
        started = time.perf_counter()
        backend.outputs(model, adapter, dataset, pool[:10_000], top_k_request(10_000))
        first = time.perf_counter() - started
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            result = backend.outputs(model, adapter, dataset, pool, top_k_request(rows))
            times.append(time.perf_counter() - started)
        if hasattr(backend, "close"):
            backend.close()
        selections[name] = result.top.positions.tolist()
        out[name] = {**_stats(times, rows), "first_request_10k_rows_s": first}
    ray.shutdown()
    out["same_selection"] = len({tuple(s) for s in selections.values()}) == 1
    for name in ("ray_datax1", "ray_datax2"):
        out[f"{name}_time_over_local"] = out[name]["median_s"] / out["local"]["median_s"]
    return out


def peak_rss(rows: int, backend: str) -> dict:
    """Run in a fresh process: peak RSS while a linear head streams top-k over ``rows`` rows."""
    if backend != "local":
        import ray

        ray.init(address="local", num_cpus=2, include_dashboard=False)
    dataset = embedding_pool(rows)
    adapter = LinearHeadAdapter(64, "image")
    model = adapter.create(10, 0)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux: "5" resets the high-water mark to the current RSS, so VmHWM below is the peak of
    # scoring alone, not of building the data (which hid the 1M-row growth before)
    Path("/proc/self/clear_refs").write_text("5")
    start_kib = _status_kib("VmRSS")
    started = time.perf_counter()
    request = top_k_request(rows, k=1000, batch=4096)
    scorer(backend).outputs(model, adapter, dataset, np.arange(rows), request)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    inputs_mib = rows * 64 * 4 / 2**20
    return {
        "rows": rows, "backend": backend, "seconds": time.perf_counter() - started,
        "peak_rss_mib": after / 1024, "rss_before_scoring_mib": before / 1024,
        "scoring_rss_growth_mib": (after - before) / 1024, "inputs_mib": inputs_mib,
        "rss_at_scoring_start_mib": start_kib / 1024,
        "peak_during_scoring_mib": _status_kib("VmHWM") / 1024,
        "peak_growth_during_scoring_mib": (_status_kib("VmHWM") - start_kib) / 1024,
    }  # fmt: skip


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def embedding_pass(rows: int, repeats: int) -> dict:
    """rows/s of the frozen-backbone embedding pass written as parquet parts (local scorer)."""
    torch.set_num_threads(1)
    dataset = image_pool(rows)
    adapter = create_adapter("tiny_cnn", False, {})
    model = adapter.create(10, 0).eval()
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as sink:
            started = time.perf_counter()
            request = ScoreRequest(probs=False, sink=sink, batch_size=256)
            LocalScorer().outputs(model, adapter, dataset, np.arange(rows), request)
            times.append(time.perf_counter() - started)
    return _stats(times, rows)


def head_vs_full(repeats: int) -> dict:
    """Seconds of one AL round (train + evaluate + score + acquire) in head vs full mode."""
    from raysweep.engine.trajectory import Trajectory
    from raysweep.spec.trajectory import TrajectorySpec

    torch.set_num_threads(1)
    out = {}
    for mode in ("full", "head"):
        spec = TrajectorySpec.from_dict(
            {
                "dataset": "shapes", "dataset_args": {"n": 4000}, "model": "tiny_cnn",
                "pretrained": False, "strategy": "entropy",
                "recipe": {"seed_size": 20, "first_batch": 20, "budget": 60},
                "train": {"max_steps": 50, "finetune": mode},
            }
        )  # fmt: skip
        times = []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as store:
                t = Trajectory(
                    spec, embedding_store=store
                )  # the embedding pass is not in the round
                started = time.perf_counter()
                t.run_round()
                times.append(time.perf_counter() - started)
        out[mode] = _stats(times, 2000)
    out["speedup_head_over_full"] = out["full"]["median_s"] / out["head"]["median_s"]
    return out


def gpu_bit(repeats: int, batch: int = 256, images: int = 8192) -> dict:
    """BiT-M-R50x1 (random weights) bf16 images/s through the scorers, vs bf16 matmul TFLOP/s.

    The local scorer runs the same ``score_block`` the Ray Data actors run; the Ray Data row is
    measured only where Ray is installed (the device image has none).
    """
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    torch.matmul(a, a)
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(20):
        torch.matmul(a, a)
    torch.cuda.synchronize()
    matmul_tflops = 20 * 2 * 8192**3 / (time.perf_counter() - started) / 1e12
    del a
    dataset = image_pool(images, size=224)
    adapter = create_adapter("timm", False, {"timm_name": "resnetv2_50x1_bit"})
    model = adapter.create(10, 0).eval()
    request = top_k_request(images, batch=batch)
    out: dict = {"device": torch.cuda.get_device_name(0), "matmul_bf16_tflops": matmul_tflops}
    out["batch_size"] = batch
    times = []
    for _ in range(repeats + 1):  # the first run warms the kernels up
        started = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            LocalScorer("cuda").outputs(model, adapter, dataset, np.arange(images), request)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    out["local_bf16"] = _stats(times[1:], images)
    # ~4.1 GMACs per 224 px image (timm's figure for resnetv2_50x1_bit): achieved TFLOP/s
    out["local_bf16"]["model_tflops"] = out["local_bf16"]["rows_per_s"] * 2 * 4.1e9 / 1e12
    try:
        import ray
    except ImportError:
        out["ray_data_bf16"] = "ray is not installed on this machine"
        return out
    from raysweep.scoring import RayDataScorer

    ray.init(address="local", include_dashboard=False)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        RayDataScorer(actors=1, cpus_per_actor=4, gpus_per_actor=1, bf16=True).outputs(
            model, adapter, dataset, np.arange(images), request
        )
        times.append(time.perf_counter() - started)
    out["ray_data_bf16"] = _stats(times, images)
    return out


def _stats(times: list[float], rows: int) -> dict:
    median = statistics.median(times)
    return {
        "median_s": median, "min_s": min(times), "max_s": max(times), "runs": len(times),
        "rows": rows, "rows_per_s": rows / median,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default=None)
    parser.add_argument("--gpu", action="store_true")
    parser.add_argument("--rss-child", nargs=2, metavar=("ROWS", "BACKEND"))
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if args.rss_child:
        print(json.dumps(peak_rss(int(args.rss_child[0]), args.rss_child[1])))
        return 0
    record: dict = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "load_average_at_start": os.getloadavg(),
        },
        "command": " ".join(sys.argv),
    }
    if args.gpu:
        record["gpu_bit_m_r50x1_bf16"] = gpu_bit(args.repeats)
    else:
        parts = (
            [args.only] if args.only else ["throughput", "rss", "embedding_pass", "head_vs_full"]
        )
        if "throughput" in parts:
            record["throughput"] = throughput(args.rows, args.repeats)
        if "rss" in parts:
            record["rss"] = [
                json.loads(
                    subprocess.run(
                        [sys.executable, __file__, "--rss-child", str(rows), backend],
                        capture_output=True, text=True, check=True,
                    ).stdout.splitlines()[-1]
                )
                for backend in ("local", "ray_datax1")
                for rows in (100_000, 1_000_000)
            ]  # fmt: skip
        if "embedding_pass" in parts:
            record["embedding_pass"] = embedding_pass(min(args.rows, 50_000), args.repeats)
        if "head_vs_full" in parts:
            record["head_vs_full"] = head_vs_full(args.repeats)
    record["machine"]["load_average_at_end"] = os.getloadavg()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    file = Path(args.out) / f"scoring-{time.strftime('%Y%m%d-%H%M%S')}.json"
    file.write_text(json.dumps(record, indent=2))
    print(json.dumps(record, indent=2))
    print(f"wrote {file}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
