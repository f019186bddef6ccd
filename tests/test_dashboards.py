"""dashboards/: the Grafana dashboard's queries name metrics a real Ray cluster exports during a
sweep (raysweep's own through ray.util.metrics, and Ray's), and its provisioning fits Ray's."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import promql_parser
import pytest
import yaml
from conftest import REPO, ClusterSweep, RayHead

DASHBOARDS = REPO / "dashboards"
DASHBOARD = DASHBOARDS / "raysweep.json"
# Grafana's own variables are not PromQL; each stands for a value of the right kind
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$sweep": ".*"}
RAY_DATASOURCE = "Prometheus"  # the datasource Ray provisions for its own dashboards


def selector_names(node: Any) -> set[str]:
    """Metric names of every vector selector in a parsed PromQL expression."""
    if isinstance(node, promql_parser.VectorSelector):
        return {node.name} if node.name else set()
    names: set[str] = set()
    for attribute in ("expr", "lhs", "rhs", "param", "vector_selector"):
        child = getattr(node, attribute, None)
        if child is not None and not isinstance(child, str | int | float):
            names |= selector_names(child)
    for arg in getattr(node, "args", None) or []:
        names |= selector_names(arg)
    return names


def query_names(expr: str) -> set[str]:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return selector_names(promql_parser.parse(expr))


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panels() -> list[dict[str, Any]]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def dashboard_queries() -> dict[str, set[str]]:
    """Panel (or variable) title -> metric names its queries read."""
    queries = {
        panel["title"]: set().union(*(query_names(t["expr"]) for t in panel["targets"]))
        for panel in panels()
    }
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":  # label_values(metric, label) is Grafana's, not PromQL
            metric = variable["query"]["query"].removeprefix("label_values(").split(",")[0]
            queries[f"variable {variable['name']}"] = {metric.strip()}
    return queries


# --- the dashboard file -------------------------------------------------------------------------


def test_metric_names_are_read_from_the_parsed_query() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le) (rate(ray_a_bucket{sweep=~"$sweep"}'
        "[$__rate_interval]))) / on() group_left sum(ray_b) + -ray_c offset 5m"
    )
    assert query_names(expr) == {"ray_a_bucket", "ray_b", "ray_c"}
    assert query_names("60 * max_over_time(ray_d[5m:1m]) > bool 2") == {"ray_d"}
    with pytest.raises(ValueError):
        query_names("sum(rate(ray_a[5m])")  # unbalanced: Grafana would show an error


def test_every_panel_queries_something_through_the_datasource_variable() -> None:
    found = panels()
    assert len({p["id"] for p in dashboard()["panels"]}) == len(dashboard()["panels"])
    assert len(found) >= 10
    for panel in found:
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert all(query_names(t["expr"]) for t in panel["targets"]), panel["title"]
    # no two panels overlap on Grafana's 24-column grid
    cells: dict[tuple[int, int], str] = {}
    for panel in dashboard()["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_provisioning_points_grafana_at_the_dashboard_and_rays_prometheus() -> None:
    datasources = yaml.safe_load(
        (DASHBOARDS / "provisioning/datasources/raysweep.yaml").read_text()
    )
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus" and source["name"] == RAY_DATASOURCE
    variable = next(v for v in dashboard()["templating"]["list"] if v["name"] == "datasource")
    assert variable["type"] == "datasource" and variable["query"] == "prometheus"
    assert variable["current"]["value"] == RAY_DATASOURCE
    providers = yaml.safe_load((DASHBOARDS / "provisioning/dashboards/raysweep.yaml").read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"] == "${RAYSWEEP_DASHBOARDS}"


@pytest.mark.slow
def test_the_dashboard_can_sit_beside_rays_own(ray_head: RayHead) -> None:
    """Ray writes its default dashboards for Grafana into the session; ours joins that folder."""
    folder = ray_head.temp_dir / "session_latest" / "metrics" / "grafana" / "dashboards"
    deadline = time.monotonic() + 60
    while not list(folder.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(1)
    ray_dashboards = [json.loads(f.read_text()) for f in folder.glob("*.json")]
    assert any(d.get("title") == "Default Dashboard" for d in ray_dashboards), folder
    assert dashboard()["uid"] not in {d.get("uid") for d in ray_dashboards}
    assert dashboard()["title"] not in {d.get("title") for d in ray_dashboards}
    # the Prometheus datasource Ray provisions is the one the dashboard selects by default
    provisioned = folder.parent / "provisioning" / "datasources"
    names = {
        source["name"]
        for file in provisioned.glob("*.yml")
        for source in yaml.safe_load(file.read_text())["datasources"]
    }
    assert names == {RAY_DATASOURCE}


# --- a real cluster during a sweep --------------------------------------------------------------


@pytest.mark.slow
def test_every_panel_queries_a_metric_the_cluster_exports_during_a_sweep(
    cluster_smoke_sweep: ClusterSweep,
) -> None:
    # what the cluster's endpoints exported while the smoke job ran on it (scraped every second)
    seen = cluster_smoke_sweep.metrics
    assert seen, "nothing was scraped during the sweep"
    missing = {
        title: sorted(names - seen.keys())
        for title, names in dashboard_queries().items()
        if names - seen.keys()
    }
    assert not missing, f"panels query metrics the cluster never exported: {missing}"

    # and the other way round: every metric raysweep exports has a panel (a histogram's
    # buckets, sum or count stand for the whole histogram)
    def family(name: str) -> str:
        return re.sub(r"_(bucket|sum|count)$", "", name)

    plotted = {family(name) for name in set().union(*dashboard_queries().values())}
    ours = {family(name) for name in seen if name.startswith("ray_raysweep_")}
    assert ours - plotted == set(), "exported but on no panel"
    # tags stay low-cardinality: the sweep's name and its axes, never a trial or run id
    rounds = [labels for labels, _ in seen["ray_raysweep_al_rounds_total"]]
    assert {labels["sweep"] for labels in rounds} == {"smoke"}
    assert {labels["strategy"] for labels in rounds} == {"random", "entropy"}
    assert {labels["dataset"] for labels in rounds} == {"shapes"}
    assert {labels["model"] for labels in rounds} == {"tiny_cnn (random init)"}
    assert not any("trial" in key for labels in rounds for key in labels)
    # the driver's gauges: up to the 4 trials finished, none failed, at most 2 running at once
    finished = [value for _, value in seen["ray_raysweep_trials_finished"]]
    assert 1 <= max(finished) <= 4
    assert {value for _, value in seen["ray_raysweep_trials_failed"]} == {0.0}
    assert max(value for _, value in seen["ray_raysweep_trials_running"]) <= 2
    # a trial acquires 30 labels (10 seed labels, budget 40); each worker counts its own trials
    acquired = [value for _, value in seen["ray_raysweep_labels_acquired_total"]]
    assert all(value % 10 == 0 and 0 < value <= 4 * 30 for value in acquired)
