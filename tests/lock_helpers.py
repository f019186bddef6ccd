"""A claimant of the build lock for a spawned process: imports no torch, so it starts fast."""

from __future__ import annotations

import time

import fsspec
import pyarrow.fs

from raysweep.engine.build_lock import BuildLock

SETTLE, HOLD, SPACING = 0.3, 0.8, 1.5  # a winner holds past the other claimant's settle


def fsspec_local() -> pyarrow.fs.FileSystem:
    """Local files through fsspec: a pyarrow filesystem that is not its LocalFileSystem, shared
    by processes (pyarrow takes ``file://`` and ``local://`` URIs for its own, so built here)."""
    return pyarrow.fs.PyFileSystem(pyarrow.fs.FSSpecHandler(fsspec.filesystem("file")))


def claim(root: str, start_at: float, rounds: int, queue) -> None:
    """Race for ``root``/entry.lock at ``start_at + r * SPACING``; put (r, won) for each race."""
    fs = fsspec_local()
    for r in range(rounds):
        lock = BuildLock(fs, f"{root}/entry.lock", settle=SETTLE)
        time.sleep(max(0.0, start_at + SPACING * r - time.time()))
        won = lock.try_acquire()
        queue.put((r, won))
        if won:
            time.sleep(HOLD)
            lock.release()
