"""Environment variables in job files: ``${NAME}`` and ``${NAME:-default}`` inside string values.

Data roots and weights files differ between machines (``/data/wilds`` on one cluster, a scratch
disk on another); a job writes ``root_dir: ${RAYSWEEP_DATA:-/data}/wilds`` and each user points
it elsewhere without editing the file. Values are expanded once, where the driver reads the job,
so the Ray workers receive concrete paths. Only the two shell forms above are expanded (a lone
``$`` stays as it is); a variable that is unset and has no default is a one-line error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from raysweep.errors import ConfigError

_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def expand_string(value: str, where: str, environ: Mapping[str, str] | None = None) -> str:
    """``value`` with every ``${NAME}`` / ``${NAME:-default}`` replaced from ``environ``."""
    env = os.environ if environ is None else environ

    def replace(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        # as in the shell, ":-" also applies when the variable is set but empty
        if env.get(name):
            return env[name]
        if default is not None:
            return default
        raise ConfigError(
            f"{where}: environment variable {name} is not set and {match.group(0)} has no "
            f"default (write ${{{name}:-<default>}} or set {name})"
        )

    return _REFERENCE.sub(replace, value)


def expand_env(raw: Any, where: str = "", environ: Mapping[str, str] | None = None) -> Any:
    """A parsed job with environment references expanded in every string value (keys untouched)."""
    if isinstance(raw, str):
        return expand_string(raw, where or "job", environ)
    if isinstance(raw, dict):
        return {
            key: expand_env(value, f"{where}.{key}" if where else str(key), environ)
            for key, value in raw.items()
        }
    if isinstance(raw, list):
        return [expand_env(item, f"{where}[{i}]", environ) for i, item in enumerate(raw)]
    return raw


__all__ = ["expand_env", "expand_string"]
