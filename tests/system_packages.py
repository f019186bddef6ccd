"""Debian packages that some tests need (Chromium, PostgreSQL), installed once, in the background.

CI machines start bare. Installing both is a minute or more of downloads and dpkg that would
otherwise sit on the critical path of the first test that needs one; the session instead starts
one background ``apt-get`` for whatever the selected tests need and is missing (tests say what
they need with ``@pytest.mark.system_packages(...)``), and the CPU-bound tests run meanwhile. A
test that needs a package calls :func:`ensure`: it waits for that install, or installs the
package itself when none was started (a test run on its own). Installing needs root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

INSTALL_TIMEOUT_S = 900
POSTGRES_BIN_ROOT = Path("/usr/lib/postgresql")  # Debian keeps initdb and postgres off PATH
# Debian would otherwise create and start a default cluster on port 5432; the tests run their own
NO_DEFAULT_CLUSTER = Path("/etc/postgresql-common/createcluster.d/raysweep-tests.conf")
INSTALL_COMMANDS = {
    "chromium": "apt-get install -y -qq chromium",
    "postgresql": "apt-get install -y -qq --no-install-recommends postgresql",
}

_install: subprocess.Popen | None = None
_log: Path | None = None  # what the install printed


class SystemPackageMissing(RuntimeError):
    """A package a test needs is not installed and could not be."""


def installed(package: str) -> bool:
    if package == "chromium":
        return shutil.which("chromium") is not None
    if package == "postgresql":
        return any(POSTGRES_BIN_ROOT.glob("*/bin/initdb")) or bool(shutil.which("initdb"))
    raise ValueError(f"unknown system package {package!r} (known: {', '.join(INSTALL_COMMANDS)})")


def start_install(packages: set[str]) -> None:
    """Start one background apt-get for those of ``packages`` that are missing (root only)."""
    global _install, _log
    missing = sorted(p for p in packages if not installed(p))
    if not missing or _install is not None or not _can_install():
        return  # without root, ensure() says how to install them
    if "postgresql" in missing:
        NO_DEFAULT_CLUSTER.parent.mkdir(parents=True, exist_ok=True)
        NO_DEFAULT_CLUSTER.write_text("create_main_cluster = false\n")
    steps = ["apt-get update -qq", *(INSTALL_COMMANDS[p] for p in missing)]
    with tempfile.NamedTemporaryFile(prefix="raysweep-apt-", suffix=".log", delete=False) as log:
        _install = subprocess.Popen(  # the child keeps its own copy of the log's descriptor
            ["bash", "-c", " && ".join(steps)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            start_new_session=True,  # a Ctrl-C of pytest does not leave dpkg half-way
        )
    _log = Path(log.name)


def ensure(package: str) -> None:
    """Return once ``package`` is installed: after the session's background install, or after
    installing it now; :class:`SystemPackageMissing` with the reason if it cannot be."""
    global _install
    _wait()
    if installed(package):
        return
    if not _can_install():
        raise SystemPackageMissing(
            f"Debian's {package} is not installed and installing it needs root and apt-get: "
            f"run `apt-get update && {INSTALL_COMMANDS[package]}`"
        )
    _install = None  # the background install (if any) did not bring it: try it alone
    start_install({package})
    _wait()
    if not installed(package):
        printed = _log.read_text()[-800:] if _log else ""
        raise SystemPackageMissing(f"installing {package} failed:\n{printed}")


def _can_install() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def _wait() -> None:
    if _install is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            _install.wait(timeout=INSTALL_TIMEOUT_S)
