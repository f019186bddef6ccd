"""Shared fixtures: a real Ray head and a real MLflow server, each started once per test session.

Both run as subprocesses on free ports and are stopped by their own process id at the end; nothing
here touches another Ray cluster on the host (no ``ray stop``, no fixed dashboard port).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from cluster_metrics import Sample, scrape
from system_packages import start_install

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start installing the Debian packages that the selected tests need (see system_packages)."""
    needed = {
        package
        for item in session.items
        for marker in item.iter_markers("system_packages")
        for package in marker.args
    }
    start_install(needed)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment of every subprocess the tests start: token auth off, no hub downloads,
    and no inherited RAY_ADDRESS (a standalone run must start its own local Ray)."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(RAY_AUTH_MODE="disabled", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def short_tmp_dir(prefix: str) -> Path:
    """A short path under /tmp: Ray's socket paths under --temp-dir have a length limit."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def wait_for_http(url: str, process: subprocess.Popen, timeout: float, what: str) -> None:
    """Poll ``url`` until it answers 200; fail with the process's exit status if it died."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except Exception as exc:  # not up yet
            last_error = exc
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not answer {url} within {timeout:.0f}s: {last_error!r}")


def stop_process_group(
    process: subprocess.Popen, grace: float = 30.0, stop_signal: int = signal.SIGTERM
) -> None:
    """Signal the process we started; SIGKILL its own process group if it does not exit."""
    if process.poll() is None:
        process.send_signal(stop_signal)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    # the process was started in a new session, so its group id is its pid: only its children
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@dataclass(frozen=True)
class RayHead:
    address: str  # GCS address, host:port
    dashboard_url: str  # job submission address
    temp_dir: Path
    log: Path


@contextlib.contextmanager
def running_ray_head(
    num_cpus: int,
    *extra_args: str,
    port: int | None = None,
    temp_dir: Path | None = None,
    **extra_env: str,
) -> Iterator[RayHead]:
    """``ray start --head --block`` with the dashboard on free ports, stopped by its process id."""
    temp_dir = temp_dir or short_tmp_dir("rsh")
    port, dashboard_port = port or free_port(), free_port()
    log = temp_dir / "head.log"
    command = [
        str(BIN / "ray"),
        "start",
        "--head",
        "--block",
        "--port",
        str(port),
        "--dashboard-host",
        "127.0.0.1",
        "--dashboard-port",
        str(dashboard_port),
        "--ray-client-server-port",
        str(free_port()),
        "--dashboard-agent-listen-port",
        str(free_port()),
        "--temp-dir",
        str(temp_dir),
        "--num-cpus",
        str(num_cpus),
        "--num-gpus",
        "0",
        "--include-dashboard",
        "true",
        "--disable-usage-stats",
        *extra_args,
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=subprocess_env(**extra_env),
            cwd=temp_dir,
            start_new_session=True,
        )
    dashboard_url = f"http://127.0.0.1:{dashboard_port}"
    try:
        wait_for_http(f"{dashboard_url}/api/version", process, timeout=120, what="ray start --head")
        yield RayHead(f"127.0.0.1:{port}", dashboard_url, temp_dir, log)
    finally:
        stop_process_group(process)
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def ray_head() -> Iterator[RayHead]:
    """A real single-node Ray cluster (2 CPUs) with the dashboard, for job submission.

    Its processes export metrics every second (Ray's default is every 10 s): a smoke job lasts
    about 20 s, and the dashboard test must see a driver gauge change before the job ends."""
    with running_ray_head(2, RAY_metrics_report_interval_ms="1000") as head:
        yield head


@contextlib.contextmanager
def running_mlflow_server(backend_store_uri: str, root: Path) -> Iterator[str]:
    """A real ``mlflow server`` on ``backend_store_uri``, artifacts under ``root``; yields its URL."""
    port = free_port()
    command = [
        str(BIN / "mlflow"),
        "server",
        "--backend-store-uri",
        backend_store_uri,
        "--default-artifact-root",
        str(root / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    with open(root / "server.log", "wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=subprocess_env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false"),
            cwd=root,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/health", process, timeout=120, what="mlflow server")
        yield url
    finally:
        stop_process_group(process)


@pytest.fixture(scope="session")
def mlflow_server() -> Iterator[str]:
    """A real ``mlflow server`` on a sqlite backend; yields its http:// URL."""
    root = short_tmp_dir("rsm")
    try:
        with running_mlflow_server(f"sqlite:///{root}/db.sqlite", root) as url:
            yield url
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class FinishedSweep:
    workdir: Path  # the driver's working directory
    tracking_uri: str
    experiment: str
    stdout: str  # what the command line printed (the table, the MLflow UI link)
    stderr: str
    storage: Path  # --storage-path


@pytest.fixture(scope="session")
def finished_smoke_sweep(tmp_path_factory: pytest.TempPathFactory) -> FinishedSweep:
    """jobs/smoke.yaml run once to the end through the command line, standalone (its own local
    Ray), with ``--tracking-uri`` (a sqlite store) and ``--storage-path`` overriding the job file:
    one sweep for every test that reads a finished sweep back (the standalone checks of
    test_sweep_cluster, the HTML report, the MLflow UI); each such sweep costs about a minute."""
    root = tmp_path_factory.mktemp("finished_smoke")
    workdir, storage, store = root / "cwd", root / "tune", root / "track"
    workdir.mkdir()
    store.mkdir()
    uri = f"sqlite:///{store}/mlflow.db"
    done = subprocess.run(
        [
            sys.executable, "-m", "raysweep.run", "--job", str(REPO / "jobs" / "smoke.yaml"),
            "--tracking-uri", uri, "--storage-path", str(storage),
        ],
        cwd=workdir,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip
    logs = done.stdout + done.stderr
    assert done.returncode == 0, f"smoke sweep exited {done.returncode}:\n{logs[-6000:]}"
    name = yaml.safe_load((REPO / "jobs" / "smoke.yaml").read_text())["name"]
    return FinishedSweep(workdir, uri, name, done.stdout, done.stderr, storage)


@dataclass(frozen=True)
class ClusterSweep:
    tracking_uri: str  # the session's MLflow server
    logs: str  # the job's driver output (stdout + stderr)
    workdir: Path  # the driver's working directory
    storage: Path  # --storage-path
    trial_actors: int  # Tune trainable actors the cluster ran
    metrics: dict[str, list[Sample]]  # every sample the cluster exported while the job ran


@pytest.fixture(scope="session")
def cluster_smoke_sweep(
    ray_head: RayHead, mlflow_server: str, tmp_path_factory: pytest.TempPathFactory
) -> ClusterSweep:
    """jobs/smoke.yaml submitted as a Ray job to the session's ``ray start`` cluster, tracked on
    the session's MLflow server, with the cluster's metrics endpoints scraped every second while it
    runs: one job for the cluster checks of test_sweep_cluster and for test_dashboards."""
    from ray.job_submission import JobStatus, JobSubmissionClient  # Ray only where it is used
    from ray.util.state import list_actors

    root = tmp_path_factory.mktemp("cluster")
    workdir, storage = root / "cwd", root / "tune"
    workdir.mkdir()
    command = [
        sys.executable, "-m", "raysweep.run", "--job", str(REPO / "jobs" / "smoke.yaml"),
        "--tracking-uri", mlflow_server, "--storage-path", str(storage),
    ]  # fmt: skip
    # the job's driver runs under the head's job supervisor: the venv's python, auth off, cwd set
    entrypoint = f"cd {shlex.quote(str(workdir))} && RAY_AUTH_MODE=disabled " + shlex.join(command)
    metrics: dict[str, list[Sample]] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_AUTH_MODE", "disabled")  # this process is the job client
        client = JobSubmissionClient(ray_head.dashboard_url)
        job_id = client.submit_job(entrypoint=entrypoint)
        final = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED}
        deadline = time.monotonic() + 300
        status = client.get_job_status(job_id)
        while status not in final and time.monotonic() < deadline:
            for name, samples in scrape(ray_head.temp_dir).items():
                metrics.setdefault(name, []).extend(samples)
            time.sleep(1)  # polling the job's state, not waiting for a result to appear
            status = client.get_job_status(job_id)
        if status not in final:
            client.stop_job(job_id)
        logs = client.get_job_logs(job_id)
        actors = list_actors(
            address=ray_head.dashboard_url,
            filters=[("class_name", "=", "ImplicitFunc")],  # Tune's wrapper of run_trial
            limit=1000,
        )
    assert status == JobStatus.SUCCEEDED, f"job {job_id} ended {status}:\n{logs[-6000:]}"
    return ClusterSweep(mlflow_server, logs, workdir, storage, len(actors), metrics)
