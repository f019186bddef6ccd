"""Reading a Ray cluster's Prometheus metrics the way Prometheus does (its discovery file)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

Sample = tuple[dict[str, str], float]  # labels, value


def scrape(ray_temp_dir: Path) -> dict[str, list[Sample]]:
    """Every sample name the cluster's metrics endpoints export now -> its labels and values.

    The endpoints are read from Ray's Prometheus service-discovery file, as Prometheus does.
    """
    discovery = ray_temp_dir / "session_latest" / "prom_metrics_service_discovery.json"
    if not discovery.exists():
        return {}
    samples: dict[str, list[Sample]] = {}
    for group in json.loads(discovery.read_text()):
        for target in group["targets"]:
            try:
                with urllib.request.urlopen(f"http://{target}/metrics", timeout=5) as response:
                    text = response.read().decode()
            except OSError:  # an endpoint that just went away (a worker node, the autoscaler)
                continue
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples
