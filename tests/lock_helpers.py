"""A claimant of the build lock for a spawned process: imports no torch, so it starts fast."""

from __future__ import annotations

import time

import fsspec
import pyarrow.fs

from raysweep.engine.build_lock import BuildLock

SETTLE, HOLD = 0.3, 0.8  # a winner holds past the other claimant's settle


def fsspec_local() -> pyarrow.fs.FileSystem:
    """Local files through fsspec: a pyarrow filesystem that is not its LocalFileSystem, shared
    by processes (pyarrow takes ``file://`` and ``local://`` URIs for its own, so built here)."""
    return pyarrow.fs.PyFileSystem(pyarrow.fs.FSSpecHandler(fsspec.filesystem("file")))


def claim(root: str, barrier, rounds: int, queue) -> None:
    """Race for ``root``/entry.lock ``rounds`` times; put (r, won) for each race.

    Both claimants start each race together at ``barrier`` and meet again once the winner has
    released, so a slow machine delays the races but cannot make one race see the last one's
    lock (fixed start times did: on a loaded CI runner neither won a race)."""
    fs = fsspec_local()
    for r in range(rounds):
        lock = BuildLock(fs, f"{root}/entry.lock", settle=SETTLE)
        barrier.wait(timeout=60)
        won = lock.try_acquire()
        queue.put((r, won))
        if won:
            time.sleep(HOLD)
            lock.release()
        barrier.wait(timeout=60)
