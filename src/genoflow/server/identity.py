"""The server's service identity: a stable id created once in the data dir.

Runs are named everywhere by (service identity, run id), so that two servers' run 1 are never
confused. The id lives in ``<data_dir>/service-id``: created atomically on the first start
(two servers starting on one data dir keep one id), kept across restarts, refused if damaged.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from pathlib import Path

from genoflow.errors import ConfigError

SERVICE_ID_FILE = "service-id"
SERVICE_ID_RE = re.compile(r"^gf-[0-9a-f]{12}$")


def service_id(data_dir: Path) -> str:
    """The data dir's service id, ``gf-`` + 12 hex digits (created when there is none)."""
    path = data_dir / SERVICE_ID_FILE
    found = _read(path)
    if found is not None:
        return found
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="ascii") as handle:
        handle.write(f"gf-{secrets.token_hex(6)}\n")
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(tmp, path)  # never replaces: a concurrent first start's id wins for both
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    found = _read(path)
    if found is None:
        raise ConfigError(f"cannot create {path}")
    return found


def _read(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if not SERVICE_ID_RE.match(text):
        raise ConfigError(
            f"{path} holds {text[:40]!r}, not a service id (gf- and 12 hex digits)",
            hint="restore it from a backup: runs are known to clients by this id",
        )
    return text


__all__ = ["SERVICE_ID_FILE", "service_id"]
