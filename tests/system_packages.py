"""Debian packages that some tests need (Chromium, PostgreSQL), installed once, in the background.

CI machines start bare. Installing both is a minute or more of downloads and dpkg that would
otherwise sit on the critical path of the first test that needs one; the session instead starts
one background ``apt-get`` for whatever the selected tests need and is missing (tests say what
they need with ``@pytest.mark.system_packages(...)``), and the CPU-bound tests run meanwhile. A
test that needs a package waits for that install (:func:`wait_for_install`) and then finds it, or
installs it itself as before. Nothing is installed when nothing selected needs it, or without root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

INSTALL_TIMEOUT_S = 900
POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin/initdb"
# Debian would otherwise create and start a default cluster on port 5432; the tests run their own
NO_DEFAULT_CLUSTER = Path("/etc/postgresql-common/createcluster.d/raysweep-tests.conf")

_install: subprocess.Popen | None = None


def installed(package: str) -> bool:
    if package == "chromium":
        return shutil.which("chromium") is not None
    if package == "postgresql":
        return any(Path("/").glob(POSTGRES_BIN_GLOB.lstrip("/"))) or bool(shutil.which("initdb"))
    raise ValueError(f"unknown system package {package!r} (known: chromium, postgresql)")


def start_install(packages: set[str]) -> None:
    """Start one background apt-get for those of ``packages`` that are missing (root only)."""
    global _install
    missing = sorted(p for p in packages if not installed(p))
    if not missing or _install is not None:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return  # the tests that need them say how to install them
    if "postgresql" in missing:
        NO_DEFAULT_CLUSTER.parent.mkdir(parents=True, exist_ok=True)
        NO_DEFAULT_CLUSTER.write_text("create_main_cluster = false\n")
    steps = ["apt-get update -qq"]
    if "chromium" in missing:
        steps.append("apt-get install -y -qq chromium")
    if "postgresql" in missing:
        steps.append("apt-get install -y -qq --no-install-recommends postgresql")
    with tempfile.NamedTemporaryFile(prefix="raysweep-apt-", suffix=".log", delete=False) as log:
        _install = subprocess.Popen(  # the child keeps its own copy of the log's descriptor
            ["bash", "-c", " && ".join(steps)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            start_new_session=True,  # a Ctrl-C of pytest does not leave dpkg half-way
        )


def wait_for_install() -> None:
    """Block until the background install (if any) ends; its failure shows as a missing package."""
    if _install is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):  # then the test installs it itself
            _install.wait(timeout=INSTALL_TIMEOUT_S)
