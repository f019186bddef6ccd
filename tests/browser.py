"""Headless Chromium for the tests that look at pages: the HTML report and the MLflow UI.

Debian's ``chromium`` package is installed on first use when it is missing (CI machines start
bare; the tests run as root there). Installing from the tests rather than from ``.ci/run`` keeps
the README's test command the whole story: it works the same on a developer's fresh machine.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import pytest
from system_packages import SystemPackageMissing, ensure

# root in a container: Chromium's sandbox needs user namespaces it does not get there
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run")


@functools.cache
def chromium() -> str:
    """Path of the chromium binary, installing Debian's package once if it is missing."""
    try:
        ensure("chromium")
    except SystemPackageMissing as missing:
        pytest.fail(str(missing))
    return shutil.which("chromium") or "chromium"


def _run(url: str, *extra: str, budget_ms: int, width: int, height: int) -> str:
    command = [
        chromium(),
        *FLAGS,
        f"--window-size={width},{height}",
        f"--virtual-time-budget={budget_ms}",
        *extra,
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"chromium exited {done.returncode}: {done.stderr[-1000:]}"
    return done.stdout


def dump_dom(url: str, *, budget_ms: int = 10_000, width: int = 1400, height: int = 2000) -> str:
    """The DOM after the page's scripts ran for ``budget_ms`` of virtual time."""
    return _run(url, "--dump-dom", budget_ms=budget_ms, width=width, height=height)


def screenshot(
    url: str, path: Path, *, budget_ms: int = 10_000, width: int = 1400, height: int = 2000
) -> Path:
    """A PNG of the rendered page (look at it: the tests cannot judge layout)."""
    _run(url, f"--screenshot={path}", budget_ms=budget_ms, width=width, height=height)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"no screenshot written to {path}"
    return path
