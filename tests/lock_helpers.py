"""A claimant of the build lock for a spawned process: imports no torch, so it starts fast."""

from __future__ import annotations

import time

import fsspec
import pyarrow.fs

from raysweep.engine.build_lock import BuildLock

SETTLE = 0.3  # seconds a claimant waits before reading its write back


def fsspec_local() -> pyarrow.fs.FileSystem:
    """Local files through fsspec: a pyarrow filesystem that is not its LocalFileSystem, shared
    by processes (pyarrow takes ``file://`` and ``local://`` URIs for its own, so built here)."""
    return pyarrow.fs.PyFileSystem(pyarrow.fs.FSSpecHandler(fsspec.filesystem("file")))


def claim(root: str, barrier, rounds: int, queue) -> None:
    """Race for ``root``/entry.lock ``rounds`` times; put (r, won) for each race.

    Both claimants start each race together at ``barrier``; the winner holds the lock until both
    have decided and releases it before the next race, so a slow machine delays the races but
    cannot make one race see another's lock (fixed start times did: on a loaded CI runner
    neither won). A claimant that lost sees the winner's lock; one that backed off (too slow
    between looking and writing) sees none and tries again, as the embedding cache's builders do.
    """
    fs = fsspec_local()
    for r in range(rounds):
        lock = BuildLock(fs, f"{root}/entry.lock", settle=SETTLE)
        barrier.wait(timeout=60)
        deadline = time.monotonic() + 30
        won = lock.try_acquire()
        while not won and not lock.held_by_other() and time.monotonic() < deadline:
            won = lock.try_acquire()
        queue.put((r, won))
        barrier.wait(timeout=60)  # both decided; the winner still holds the lock
        if won:
            lock.release()
        barrier.wait(timeout=60)  # released before the next race
