"""Reading a cache entry with pyarrow directly: an independent view of what the cache stored."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq


def stored_rows(manifest: Path, n_rows: int) -> np.ndarray:
    """The (n_rows, D) rows of the local entry whose manifest is ``manifest``, in index order."""
    record = json.loads(manifest.read_text())
    rows: dict[int, np.ndarray] = {}
    for part in record["parts"]:
        table = pq.read_table(manifest.parent / record["directory"] / part["name"]).to_pydict()
        rows.update(zip(table["index"], map(np.asarray, table["embedding"]), strict=True))
    assert sorted(rows) == list(range(n_rows))
    return np.stack([rows[i] for i in range(n_rows)])
