"""One builder per cache entry on shared storage, others wait; a dead builder's lock goes stale.

The lock is a small file beside the entry. On a local filesystem it is created with ``O_EXCL``
(atomic). On object stores (no exclusive create) a claimant that finds no lock writes its token
at once (within ``settle / 4`` of looking, or it backs off and looks again), waits ``settle``
seconds and reads the file back: with read-after-write consistency every competing write lands
inside that window and only the last writer still sees its own token, so exactly one proceeds.
The holder rewrites the file every ``heartbeat`` seconds; a lock older than ``stale_after`` (by
the file's modification time, or where a filesystem keeps none by the time written in it) belongs
to a dead builder and is broken. Every write is staged beside the lock and moved over it.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from typing import Any

import pyarrow.fs


class BuildLock:
    def __init__(
        self,
        fs: pyarrow.fs.FileSystem,
        path: str,
        stale_after: float = 300.0,
        heartbeat: float = 20.0,
        settle: float = 1.0,
    ) -> None:
        self.fs, self.path = fs, path
        self.stale_after, self.heartbeat, self.settle = stale_after, heartbeat, settle
        self.token = uuid.uuid4().hex
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def try_acquire(self) -> bool:
        """Take the lock if it is free or stale; True if this process now holds it.

        False also when this claimant was too slow to claim safely; the caller tries again.
        """
        checked = time.monotonic()
        age = self._age()
        if age is not None and age > self.stale_after:
            with contextlib.suppress(OSError, FileNotFoundError):
                self.fs.delete_file(self.path)  # a dead builder's lock
        if isinstance(self.fs, pyarrow.fs.LocalFileSystem):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return False
            with os.fdopen(fd, "w") as handle:
                handle.write(self._content())
        else:
            if age is not None and age <= self.stale_after:
                return False
            # a claimant that saw no lock but writes more than ``settle`` later could overwrite
            # a lock that another has already confirmed, and both would build: a write soon
            # after the check lands inside every competitor's settle window, and a claimant
            # held up between the two (a loaded machine) backs off and looks again
            if time.monotonic() - checked > self.settle / 4:
                return False
            self._write()
            time.sleep(self.settle)
            if self._holder() != self.token:
                return False
        self._beat = threading.Thread(target=self._keep_alive, daemon=True)
        self._beat.start()
        return True

    def held_by_other(self) -> bool:
        age = self._age()
        return age is not None and age <= self.stale_after

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        if self._holder() == self.token:
            with contextlib.suppress(OSError, FileNotFoundError):
                self.fs.delete_file(self.path)

    def _keep_alive(self) -> None:
        while not self._stop.wait(self.heartbeat):
            self._write()

    def _content(self) -> str:
        return json.dumps({"token": self.token, "pid": os.getpid(), "time": time.time()})

    def _write(self) -> None:
        # whole or not at all: written beside the lock, then moved over it. Two claimants
        # writing the lock itself at once can interleave on a filesystem without atomic puts
        # (local files through fsspec, network mounts): a torn file that neither can read as
        # its own, and that blocks every builder until it goes stale
        staging = f"{self.path}.{self.token}"
        with self.fs.open_output_stream(staging) as out:
            out.write(self._content().encode())
        self.fs.move(staging, self.path)

    def _holder(self) -> str | None:
        return self._read().get("token")

    def _read(self) -> dict[str, Any]:
        try:
            with self.fs.open_input_stream(self.path) as handle:
                content = json.loads(handle.readall())
        except (OSError, FileNotFoundError, ValueError):
            return {}
        return content if isinstance(content, dict) else {}

    def _age(self) -> float | None:
        """Seconds since the lock was last written, None if there is no lock."""
        info = self.fs.get_file_info(self.path)
        if info.type == pyarrow.fs.FileType.NotFound:
            return None
        if info.mtime is not None:
            return time.time() - info.mtime.timestamp()
        # filesystems that keep no modification time (fsspec's memory, some object stores):
        # the time the holder wrote into the lock. Without it a held lock would look absent
        # and a second builder would start. Object stores show a write only once whole, so an
        # unreadable lock is garbage: treated as absent, it can never block builders forever
        written = self._read().get("time")
        return time.time() - float(written) if isinstance(written, int | float) else None
