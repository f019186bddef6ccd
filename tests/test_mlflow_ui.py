"""The MLflow UI link raysweep prints opens the model-training view of the sweep's runs (MLflow 3
opens experiments in its GenAI view otherwise), checked in headless Chromium on a finished sweep."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from browser import dump_dom, screenshot
from conftest import (
    BIN,
    FinishedSweep,
    free_port,
    short_tmp_dir,
    stop_process_group,
    subprocess_env,
    wait_for_http,
)
from mlflow.tracking import MlflowClient

from raysweep.service.summary import experiment_link, print_summary
from raysweep.tracking.layout import TAG_EXPERIMENT_KIND, TRAINING_EXPERIMENT
from raysweep.tracking.store import ensure_experiment

# side-bar entries only MLflow 3's GenAI view has
GENAI_ONLY = ("Judges", "Prompts")


def _fragment_query(link: str) -> tuple[str, dict[str, list[str]]]:
    fragment = urlsplit(link).fragment  # the UI routes on the part after '#'
    path, _, query = fragment.partition("?")
    return path, parse_qs(query)


def test_the_link_asks_for_the_training_view_of_the_sweeps_runs() -> None:
    path, query = _fragment_query(experiment_link("http://mlflow:5000/", "7", "ab12"))
    assert path == "/experiments/7/runs"
    assert query == {
        "workflowType": ["machine_learning"],
        "compareRunsMode": ["CHART"],
        "searchFilter": ["tags.`raysweep.sweep_id` = 'ab12'"],
        "orderByKey": ["tags.`mlflow.runName`"],
        "orderByAsc": ["true"],
    }
    assert experiment_link("http://mlflow:5000", "7").startswith("http://mlflow:5000/#/")
    assert _fragment_query(experiment_link("http://h", "3"))[1] == {
        "workflowType": ["machine_learning"]
    }


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("http://mlflow:5000", "  open http://mlflow:5000/#/experiments/4/runs?workflowType="),
        ("sqlite:////x/mlflow.db", "  then open http://127.0.0.1:5000/#/experiments/4/runs?"),
    ],
)
def test_the_summary_prints_the_link(
    uri: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = {
        "metric": "m",
        "text": "(table)",
        "tracking_uri": uri,
        "parent_run_id": "p",
        "experiment_id": "4",
        "sweep_id": "s1",
        "failed": [],
    }
    print_summary(report)
    lines = capsys.readouterr().out.splitlines()
    (line,) = [x for x in lines if x.startswith(expected)]
    assert "%27s1%27" in line  # the sweep filter, quoted
    if uri.startswith("sqlite"):
        assert f"  mlflow ui --backend-store-uri {uri} --port 5000" in lines


def test_experiments_are_tagged_as_model_training(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    new = ensure_experiment(client, "new", uri)
    assert client.get_experiment(new).tags[TAG_EXPERIMENT_KIND] == TRAINING_EXPERIMENT
    # an experiment made before raysweep tagged them gets the tag when a sweep uses it again
    old = client.create_experiment("old")
    assert TAG_EXPERIMENT_KIND not in client.get_experiment(old).tags
    assert ensure_experiment(client, "old", uri) == old
    assert client.get_experiment(old).tags[TAG_EXPERIMENT_KIND] == TRAINING_EXPERIMENT
    # a kind the user chose is theirs
    mine = client.create_experiment("mine", tags={TAG_EXPERIMENT_KIND: "genai_development"})
    ensure_experiment(client, "mine", uri)
    assert client.get_experiment(mine).tags[TAG_EXPERIMENT_KIND] == "genai_development"


def _printed_ui(stdout: str) -> tuple[list[str], str]:
    """The ``mlflow ui`` command and the link the sweep printed at its end."""
    command = re.search(r"^  (mlflow ui --backend-store-uri .*)$", stdout, re.M)
    link = re.search(r"^  then open (http://\S+)$", stdout, re.M)
    assert command and link, stdout[-2000:]
    return shlex.split(command.group(1)), link.group(1)


def _visible_text(dom: str) -> str:
    return re.sub(r"<[^>]+>", "\n", dom)


@pytest.mark.slow
@pytest.mark.system_packages("chromium")
def test_the_printed_link_shows_the_trials_and_their_learning_curves(
    finished_smoke_sweep: FinishedSweep, tmp_path: Path
) -> None:
    command, link = _printed_ui(finished_smoke_sweep.stdout)
    assert command[:2] == ["mlflow", "ui"] and command[-2:] == ["--port", "5000"]
    port = free_port()
    root = short_tmp_dir("rsui")
    with open(root / "ui.log", "wb") as log:
        server = subprocess.Popen(
            [str(BIN / "mlflow"), *command[1:-2], "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=subprocess_env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false"),
            cwd=root,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/health", server, timeout=120, what="mlflow ui")
        link = link.replace("http://127.0.0.1:5000", base)
        # tall: the UI renders only the charts in view, and the test/ charts come after acquired/
        dom = dump_dom(link, budget_ms=60_000, width=1800, height=9000)
        shot = screenshot(
            link, tmp_path / "mlflow_ui.png", budget_ms=60_000, width=1800, height=1100
        )
        print(f"screenshot: {shot}")
        client = MlflowClient(finished_smoke_sweep.tracking_uri)
        experiment = client.get_experiment_by_name(finished_smoke_sweep.experiment)
        trials = client.search_runs(
            [experiment.experiment_id], filter_string="tags.`raysweep.role` = 'trial'"
        )
        names = {run.info.run_name for run in trials}
        assert len(names) == 4
        text = _visible_text(dom)
        missing = [name for name in names if name not in text]
        assert not missing, f"trial runs not listed: {missing}"
        for metric in ("test/worst_group_accuracy", "test/accuracy", "test/balanced_accuracy"):
            assert metric in text, f"no learning-curve chart of {metric}"
        assert not [word for word in GENAI_ONLY if f"\n{word}\n" in text], "GenAI view"
        # the link printed before this fix opened the GenAI overview: the check can tell them apart
        plain = _visible_text(dump_dom(f"{base}/#/experiments/{experiment.experiment_id}"))
        assert all(f"\n{word}\n" in plain for word in GENAI_ONLY)
        assert not [name for name in names if name in plain]
    finally:
        stop_process_group(server)
