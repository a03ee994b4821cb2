"""Reference genomes the server knows: names (``b37m1``, ``hg38m1``, any name) -> FASTA files.

Two sources, merged: the server config's ``references`` map, and the registry that
``genoflow server reference add`` keeps under the data dir. Indexes (bwa, faidx, sequence
dictionary) are built once, next to the registered copy, by :func:`add_reference`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

import yaml

from genoflow.errors import ConfigError, InputError

REGISTRY_NAME = "registry.yaml"


class ReferenceRegistry:
    def __init__(self, root: Path, configured: Mapping[str, Path]) -> None:
        self._root = root
        self._configured = dict(configured)
        self._lock = threading.Lock()

    @property
    def registry_file(self) -> Path:
        return self._root / REGISTRY_NAME

    def _registered(self) -> dict[str, Path]:
        if not self.registry_file.is_file():
            return {}
        data = yaml.safe_load(self.registry_file.read_text()) or {}
        return {str(name): Path(path) for name, path in data.items()}

    def all(self) -> dict[str, Path]:
        return {**self._registered(), **self._configured}

    def names(self) -> list[str]:
        return sorted(self.all())

    def known(self, name: str) -> bool:
        return name in self.all()

    def fasta(self, name: str) -> Path:
        try:
            return self.all()[name]
        except KeyError:
            raise InputError(
                f"unknown reference {name!r}; known: {', '.join(self.names())}"
            ) from None

    def register(self, name: str, fasta: Path) -> None:
        with self._lock:
            entries = {key: str(value) for key, value in self._registered().items()}
            entries[name] = str(fasta)
            self._root.mkdir(parents=True, exist_ok=True)
            tmp = self.registry_file.with_suffix(".tmp")
            tmp.write_text(yaml.safe_dump(entries, sort_keys=True))
            tmp.replace(self.registry_file)


_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def add_reference(registry: ReferenceRegistry, root: Path, name: str, fasta: Path) -> Path:
    """Place ``fasta`` under ``root/name/``, build its indexes once, and register it."""
    from genoflow.pipelines.reference import prepare_reference

    if not name or not set(name) <= _NAME_CHARS:
        raise ConfigError(f"reference name {name!r}: use letters, digits, '.', '_' or '-'")
    if not fasta.is_file():
        raise InputError(f"FASTA file {fasta} does not exist")
    prepared = prepare_reference(fasta, root / name)
    registry.register(name, prepared.fasta)
    return prepared.fasta
