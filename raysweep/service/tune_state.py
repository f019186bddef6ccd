"""A study's saved Tune state, checked before a resume: Tune copies its experiment state into the
storage path in place, so a driver killed during that copy leaves a cut-off file.

Restoring from it, Tune 2.60 neither fails nor recovers: it drops every saved trial and starts
one trial with an empty config, so the resume loses the interrupted trials and ends with a
confusing error inside a worker (seen once in CI: a 0-byte ``experiment_state-*.json``). Saying
so in one line, before Ray starts and before anything is written, is the honest answer.
"""

from __future__ import annotations

import json
import posixpath

import pyarrow.fs

from raysweep.errors import ConfigError
from raysweep.spec.job import SweepJob
from raysweep.spec.plan import plan_studies, resolve_storage

TUNER_FILE = "tuner.pkl"  # what Tuner.can_restore looks for
STATE_PREFIX, STATE_SUFFIX = "experiment_state-", ".json"


def check_tune_states(job: SweepJob) -> None:
    """One line if a study that would be restored has a cut-off experiment state."""
    filesystem, root = pyarrow.fs.FileSystem.from_uri(resolve_storage(job.storage_path))
    for study in plan_studies(job):
        folder = posixpath.join(root, study.name)
        tuner = filesystem.get_file_info(posixpath.join(folder, TUNER_FILE))
        if tuner.type == pyarrow.fs.FileType.NotFound:
            continue  # a new study: nothing to restore
        newest = _newest_state(filesystem, folder)
        if newest is None:
            continue  # killed before Tune saved any trial: Tune starts the study afresh
        problem = _unreadable(filesystem, newest)
        if problem:
            raise ConfigError(
                f"study {study.name}: Tune's saved state {newest} is {problem} (as when the "
                "driver is killed while Tune writes it), so its trials cannot be resumed; their "
                f"finished runs are in MLflow. Move {folder} aside to run the study again"
            )


def _newest_state(filesystem: pyarrow.fs.FileSystem, folder: str) -> str | None:
    """The newest ``experiment_state-<timestamp>.json`` (Tune picks the newest the same way)."""
    infos = filesystem.get_file_info(pyarrow.fs.FileSelector(folder, allow_not_found=True))
    states = sorted(
        info.path
        for info in infos
        if info.type == pyarrow.fs.FileType.File
        and info.base_name.startswith(STATE_PREFIX)
        and info.base_name.endswith(STATE_SUFFIX)
    )
    return states[-1] if states else None


def _unreadable(filesystem: pyarrow.fs.FileSystem, path: str) -> str:
    """What is wrong with a saved experiment state, or "" if it is whole."""
    with filesystem.open_input_stream(path) as stream:
        raw = stream.read()
    if not raw:
        return "empty"
    try:
        state = json.loads(raw)
    except ValueError:
        return f"cut off after {len(raw)} bytes"
    if not isinstance(state, dict) or "trial_data" not in state:
        return "not an experiment state (no trial_data)"
    return ""
