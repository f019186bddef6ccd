"""Embeddings as parquet parts on any filesystem (a local path or a URI such as s3://, gs://...).

Each part holds ``index`` (dataset index, int64) and ``embedding`` (fixed-size list of float32), and
is described by a record with its name, row count and SHA-256, so a reader can tell a whole part
from a truncated or altered one. Writers (the trial or a Ray Data actor) write parts; whoever
collects the records writes the manifest.
"""

from __future__ import annotations

import hashlib
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.fs
import pyarrow.parquet as pq


class CorruptEntry(Exception):
    """A part is missing, truncated, altered or does not match its record."""


def filesystem(uri: str) -> tuple[pyarrow.fs.FileSystem, str]:
    """The pyarrow filesystem of ``uri`` and the path inside it (plain paths are local).

    Schemes pyarrow has no native filesystem for (gcsfs's ``gcs``, adlfs, ``memory``...) go
    through fsspec, as Ray Tune resolves the same storage path, so the cache lives wherever the
    sweep's storage does.
    """
    if "://" not in uri:
        return pyarrow.fs.LocalFileSystem(), uri
    try:
        return pyarrow.fs.FileSystem.from_uri(uri)
    except pa.ArrowInvalid:  # "Unrecognized filesystem type"
        fs, path = fsspec.core.url_to_fs(uri)
        return pyarrow.fs.PyFileSystem(pyarrow.fs.FSSpecHandler(fs)), path


def embeddings_table(indices: np.ndarray, embeddings: np.ndarray) -> pa.Table:
    flat = pa.array(np.ascontiguousarray(embeddings, dtype=np.float32).ravel())
    return pa.table(
        {
            "index": pa.array(np.asarray(indices, dtype=np.int64)),
            "embedding": pa.FixedSizeListArray.from_arrays(flat, embeddings.shape[1]),
        }
    )


def write_part(
    directory: str, indices: np.ndarray, embeddings: np.ndarray | None
) -> dict[str, Any]:
    """Write one part under ``directory``; its record (name, rows, sha256, dim)."""
    if embeddings is None:
        raise ValueError("write_part needs embeddings")
    sink = pa.BufferOutputStream()
    pq.write_table(embeddings_table(indices, embeddings), sink)
    data = sink.getvalue().to_pybytes()
    name = f"part-{int(indices[0]):012d}-{len(indices)}.parquet"
    fs, root = filesystem(directory)
    fs.create_dir(root, recursive=True)
    with fs.open_output_stream(f"{root}/{name}") as out:
        out.write(data)
    return {
        "name": name,
        "rows": len(indices),
        "sha256": hashlib.sha256(data).hexdigest(),
        "dim": int(embeddings.shape[1]),
    }


def read_parts(directory: str, parts: list[dict[str, Any]], n_rows: int) -> np.ndarray:
    """The (n_rows, D) embeddings in dataset order; :class:`CorruptEntry` on any mismatch."""
    fs, root = filesystem(directory)
    if not parts:
        raise CorruptEntry("the manifest lists no parts")
    dim = int(parts[0]["dim"])
    out = np.empty((n_rows, dim), np.float32)
    seen = np.zeros(n_rows, bool)
    for part in parts:
        try:
            with fs.open_input_file(f"{root}/{part['name']}") as handle:
                data = handle.readall()
        except (OSError, FileNotFoundError) as exc:
            raise CorruptEntry(f"part {part['name']} cannot be read: {exc}") from None
        if hashlib.sha256(data).hexdigest() != part["sha256"]:
            raise CorruptEntry(f"part {part['name']} does not match its checksum")
        table = pq.read_table(pa.BufferReader(data))
        index = table.column("index").to_numpy()
        values = table.column("embedding").combine_chunks().flatten().to_numpy()
        if len(index) != part["rows"] or values.size != len(index) * dim:
            raise CorruptEntry(f"part {part['name']} has the wrong shape")
        if index.min() < 0 or index.max() >= n_rows or seen[index].any():
            raise CorruptEntry(f"part {part['name']} has indices outside or repeated")
        out[index] = values.reshape(len(index), dim)
        seen[index] = True
    if not seen.all():
        raise CorruptEntry(f"the parts cover {int(seen.sum())} of {n_rows} rows")
    return out
