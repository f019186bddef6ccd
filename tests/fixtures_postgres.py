"""A real PostgreSQL server for the tests: Debian's package, a throw-away cluster on a free port.

The package is installed here when it is missing (root and apt-get, as on CI machines), so a fresh
machine needs nothing beyond the README's test command. The install is told not to create and
start Debian's default cluster: the tests run their own, in a temporary directory, on loopback,
owned by the unprivileged ``postgres`` user because ``initdb`` refuses to run as root.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from conftest import free_port, short_tmp_dir, stop_process_group
from system_packages import POSTGRES_BIN_ROOT, SystemPackageMissing, ensure

DEBIAN_BIN_ROOT = POSTGRES_BIN_ROOT
SUPERUSER = "postgres"
START_TIMEOUT_S = 60


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed and this machine cannot install it."""


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    data_dir: Path

    def dsn(self, database: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={SUPERUSER} dbname={database}"

    def sqlalchemy_uri(self, database: str) -> str:
        """The URI MLflow's ``--backend-store-uri`` takes (SQLAlchemy picks psycopg 3 for it)."""
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database}"


def _newest_debian_bin_dir() -> Path | None:
    found = [p.parent for p in DEBIAN_BIN_ROOT.glob("*/bin/initdb")]
    if not found:
        return None
    return max(found, key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0))


def postgres_bin_dir() -> Path:
    """Where ``initdb`` and ``postgres`` live, installing Debian's package first if needed."""
    try:
        ensure("postgresql")  # waits for the session's background install, when one was started
    except SystemPackageMissing as missing:
        raise PostgresUnavailable(str(missing)) from None
    found = _newest_debian_bin_dir()
    if found is None and shutil.which("initdb"):
        found = Path(shutil.which("initdb") or "").resolve().parent
    if found is None:
        raise PostgresUnavailable(
            f"apt-get installed postgresql but no initdb under {DEBIAN_BIN_ROOT}"
        )
    return found


def _server_user() -> str | None:
    """Run the server as ``postgres`` when we are root (initdb refuses root), else as ourselves."""
    return SUPERUSER if os.geteuid() == 0 else None


def _wait_until_accepting(server: PostgresServer, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"postgres exited with {process.returncode}:\n{log.read_text()}")
        try:
            psycopg.connect(server.dsn(), connect_timeout=2).close()
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres did not accept connections: {exc}") from None
        time.sleep(0.3)


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A fresh PostgreSQL cluster (trust auth on loopback only) on a free port."""
    bin_dir = postgres_bin_dir()
    root = short_tmp_dir("rspg")
    data_dir, log = root / "data", root / "postgres.log"
    user = _server_user()
    if user is not None:
        shutil.chown(root, user)
    subprocess.run(
        [str(bin_dir / "initdb"), "-D", str(data_dir), "-U", SUPERUSER, "--auth=trust",
         "--encoding=UTF8", "--no-sync"],
        user=user, cwd=root, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    server = PostgresServer("127.0.0.1", free_port(), data_dir)
    with open(log, "wb") as out:
        if user is not None:
            shutil.chown(log, user)
        process = subprocess.Popen(
            [str(bin_dir / "postgres"), "-D", str(data_dir), "-p", str(server.port),
             "-c", f"listen_addresses={server.host}", "-c", f"unix_socket_directories={root}",
             "-c", "fsync=off"],
            stdout=out, stderr=subprocess.STDOUT, user=user, cwd=root, start_new_session=True,
        )  # fmt: skip
    try:
        _wait_until_accepting(server, process, log)
        yield server
    finally:
        # SIGINT is PostgreSQL's "fast" shutdown: it ends open sessions instead of waiting on them
        stop_process_group(process, stop_signal=signal.SIGINT)
        shutil.rmtree(root, ignore_errors=True)


def create_database(server: PostgresServer, name: str) -> None:
    # CREATE DATABASE cannot run inside a transaction
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
