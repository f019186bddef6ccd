"""The build lock and the embedding cache on filesystems that are not pyarrow's local one.

Object stores have no exclusive create, so the lock takes its other path there: write a token,
settle, read it back. Two real non-local filesystems stand in for an object store: fsspec's
``memory`` (reached by URI, as a sweep's storage path is; it keeps no modification times, like
some object stores, so ages come from the lock's content) and local files through fsspec
(shared between processes).
"""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid

import fsspec
import numpy as np
import pyarrow.fs
import pyarrow.parquet as pq
import pytest
from lock_helpers import claim, fsspec_local

from raysweep.engine.build_lock import BuildLock
from raysweep.engine.embedding_cache import cached_embeddings
from raysweep.engine.embedding_parts import filesystem, write_part

ROWS, DIM = 40, 3
TRUTH = np.arange(ROWS * DIM, dtype=np.float32).reshape(ROWS, DIM) / 7


def _memory_store() -> str:
    return f"memory://raysweep-test-{uuid.uuid4().hex}"  # one namespace per process: fresh


def test_a_uri_pyarrow_does_not_know_reaches_fsspec():
    store = _memory_store()
    fs, root = filesystem(store)
    assert isinstance(fs, pyarrow.fs.PyFileSystem)  # not LocalFileSystem: BuildLock has no O_EXCL
    part = write_part(f"{store}/p", np.arange(2), TRUTH[:2])
    with fsspec.filesystem("memory").open(f"{root}/p/{part['name']}", "rb") as handle:
        table = pq.read_table(handle)  # written where fsspec itself finds it
    assert table.column("index").to_pylist() == [0, 1]


def test_two_processes_race_and_exactly_one_wins_each_time(tmp_path):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    root = str(tmp_path / "store")
    fsspec_local().create_dir(root, recursive=True)
    barrier = context.Barrier(2)
    rounds = 3
    workers = [context.Process(target=claim, args=(root, barrier, rounds, queue)) for _ in range(2)]
    for w in workers:
        w.start()
    results = [queue.get(timeout=60) for _ in range(2 * rounds)]
    for w in workers:
        w.join(timeout=30)
    wins = {r: sum(won for race, won in results if race == r) for r in range(rounds)}
    assert wins == dict.fromkeys(range(rounds), 1), sorted(results)
    assert list((tmp_path / "store").iterdir()) == []  # each winner released it, no staging left


def test_two_builders_on_an_object_store_build_once_and_both_read():
    store = _memory_store()
    built: list[str] = []
    results: dict[str, np.ndarray] = {}

    def build(sink: str) -> list[dict]:
        built.append(sink)
        time.sleep(1.5)  # the other builder arrives mid-build and must wait
        return [write_part(sink, np.arange(s, s + 20), TRUTH[s : s + 20]) for s in (0, 20)]

    def trial(name: str) -> None:
        results[name] = cached_embeddings(store, {"k": 1}, ROWS, build, poll=0.1)

    first = threading.Thread(target=trial, args=("first",))
    first.start()
    time.sleep(1.3)  # past the first one's settle (1 s): it holds the lock and is building
    second = threading.Thread(target=trial, args=("second",))
    second.start()
    first.join(timeout=30)
    second.join(timeout=30)
    assert len(built) == 1 and built[0].startswith(store)
    assert np.array_equal(results["first"], TRUTH) and np.array_equal(results["second"], TRUTH)
    # a later trial hits the entry: nothing is built
    assert np.array_equal(cached_embeddings(store, {"k": 1}, ROWS, build), TRUTH)
    assert len(built) == 1


@pytest.mark.parametrize("kind", ["memory", "fsspec_local"])
def test_a_held_lock_stays_fresh_and_a_dead_one_is_taken_over(kind, tmp_path):
    if kind == "memory":
        fs, root = filesystem(_memory_store())
    else:
        fs, root = fsspec_local(), str(tmp_path / "store")
    fs.create_dir(root, recursive=True)
    path = f"{root}/x.lock"
    holder = BuildLock(fs, path, stale_after=0.6, heartbeat=0.15, settle=0.05)
    assert holder.try_acquire()
    other = BuildLock(fs, path, stale_after=0.6, heartbeat=0.15, settle=0.05)
    for _ in range(3):  # 1.2 s in all, twice stale_after: the heartbeat keeps it fresh
        time.sleep(0.4)
        assert not other.try_acquire()
    holder._stop.set()  # the holder dies: no more heartbeats, the lock stays behind
    assert holder._beat is not None
    holder._beat.join()
    time.sleep(0.9)
    assert other.try_acquire()  # stale: taken over
    assert other._holder() == other.token
    other.release()
    assert fs.get_file_info(path).type == pyarrow.fs.FileType.NotFound
