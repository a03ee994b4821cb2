"""Loading the effective configuration from its layers, remembering where each value came from.

Precedence, highest first:

1. command-line flags;
2. ``GENOFLOW_SECTION__KEY`` environment variables (``GENOFLOW_STORAGE__ACCOUNT_KEY``);
3. the config file: ``-f``, else ``$GENOFLOW_CONFIG``, else ``./genoflow.yaml``, else
   ``<user config dir>/genoflow/config.yaml``; YAML, or the old msgen ``config.txt``;
4. the Azure tools' variables (``AZURE_STORAGE_ACCOUNT`` ...), used as a group and only when no
   higher layer names a storage account, so an ambient ``az`` login never redirects a
   configured account;
5. packaged defaults (the schema).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from genoflow.config.msgen import looks_like_msgen, parse_msgen
from genoflow.config.schema import SECRET_KEYS, GenoflowConfig
from genoflow.errors import ConfigError
from genoflow.redact import register_secret

ENV_PREFIX = "GENOFLOW_"
ENV_CONFIG_FILE = "GENOFLOW_CONFIG"
LOCAL_CONFIG_NAME = "genoflow.yaml"

AZURE_ENV = {
    "AZURE_STORAGE_CONNECTION_STRING": "storage.connection_string",
    "AZURE_STORAGE_ACCOUNT": "storage.account_name",
    "AZURE_STORAGE_KEY": "storage.account_key",
    "AZURE_STORAGE_SAS_TOKEN": "storage.sas_token",
    "AZURE_STORAGE_BLOB_ENDPOINT": "storage.account_url",
}
_ACCOUNT_LOCATORS = ("storage.account_name", "storage.account_url", "storage.connection_string")
_CREDENTIALS = ("storage.connection_string", "storage.account_key", "storage.sas_token")

DEFAULT_SOURCE = "default"


def user_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("genoflow")) / "config.yaml"


@dataclass(frozen=True)
class Settings:
    """The effective configuration and, for every key path, where its value came from."""

    config: GenoflowConfig
    sources: Mapping[str, str] = field(default_factory=dict)
    file: Path | None = None

    def source_of(self, key_path: str) -> str:
        return self.sources.get(key_path, DEFAULT_SOURCE)

    def get(self, key_path: str) -> Any:
        node: Any = self.config
        for part in key_path.split("."):
            node = getattr(node, part)
        return node

    def require(self, key_path: str, *, flag: str | None = None) -> Any:
        """The value at ``key_path``, or a ConfigError that says where to set it."""
        value = self.get(key_path)
        if value in (None, "", []):
            where = f"in {self.file}" if self.file else "in genoflow.yaml (genoflow config init)"
            ways = [f"set {key_path} {where}", f"export {env_name(key_path)}"]
            if flag:
                ways.append(f"pass {flag}")
            raise ConfigError(f"{key_path} is required but not set", hint="; ".join(ways))
        return value

    def items(self) -> Iterator[tuple[str, Any, str]]:
        """(key path, value, source) for every leaf key, in schema order."""
        for path, value in _flatten(self.config.model_dump(mode="json")).items():
            yield path, value, self.source_of(path)


def env_name(key_path: str) -> str:
    return ENV_PREFIX + key_path.upper().replace(".", "__")


def load_settings(
    config_file: str | Path | None = None,
    overrides: Mapping[str, tuple[Any, str]] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Build :class:`Settings` from flags (``overrides``: key path -> (value, source)), the
    environment, the config file and the defaults."""
    environ = os.environ if environ is None else environ
    path = find_config_file(config_file, environ, cwd or Path.cwd())
    layers: list[tuple[dict[str, Any], dict[str, str]]] = []
    if path is not None:
        file_values = read_config_file(path)
        layers.append((file_values, dict.fromkeys(file_values, f"file {path}")))
    layers.append(_genoflow_env(environ))
    layers.append(
        (
            {k: v for k, (v, _) in (overrides or {}).items() if v is not None},
            {k: s for k, (v, s) in (overrides or {}).items() if v is not None},
        )
    )
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for values, layer_sources in layers:
        merged.update(values)
        sources.update(layer_sources)
    if not any(key in merged for key in _ACCOUNT_LOCATORS):
        azure_values, azure_sources = _azure_env(environ)
        merged = {**azure_values, **merged}
        sources = {**azure_sources, **sources}
    _check_single_credential(merged, sources)
    config = _validate(merged, sources)
    for key in SECRET_KEYS:
        register_secret(Settings(config).get(key))
    return Settings(config=config, sources=sources, file=path)


def find_config_file(
    explicit: str | Path | None, environ: Mapping[str, str], cwd: Path
) -> Path | None:
    for candidate, origin in (
        (explicit, "-f/--config"),
        (environ.get(ENV_CONFIG_FILE), ENV_CONFIG_FILE),
    ):
        if candidate:
            path = Path(candidate).expanduser()
            _refuse_directory(path, f"from {origin}")
            if not path.is_file():
                raise ConfigError(
                    f"config file {path} (from {origin}) does not exist",
                    hint="check the path, or create one with 'genoflow config init'",
                )
            return path
    for path in (cwd / LOCAL_CONFIG_NAME, user_config_path()):
        _refuse_directory(path, "looked up by default")
        if path.is_file():
            return path
    return None


def _refuse_directory(path: Path, origin: str) -> None:
    """A directory where a config file belongs is a mistake to report, not to skip."""
    if path.is_dir():
        raise ConfigError(
            f"config file {path} ({origin}) is a directory, not a file",
            hint="point -f/--config or GENOFLOW_CONFIG at the YAML file inside it, "
            "or rename the directory",
        )


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a YAML or msgen config file into dotted key paths."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    if path.suffix.lower() not in {".yaml", ".yml"} and looks_like_msgen(text):
        return parse_msgen(text, path)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(
            f"{where}: malformed YAML: {problem}",
            hint="check indentation and quoting; values with ': ' or '#' need quotes",
        ) from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of sections (service, storage, workflow, "
            f"tiering), got a {type(document).__name__}"
        )
    return _flatten(document, stop_at_leaves=True)


def _flatten(
    document: Mapping[str, Any], prefix: str = "", stop_at_leaves: bool = False
) -> dict[str, Any]:
    """Nested mapping -> {"a.b.c": value}; an empty section (``service:``) yields nothing."""
    flat: dict[str, Any] = {}
    for key, value in document.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, path + ".", stop_at_leaves))
        elif value is None and stop_at_leaves and not prefix:
            continue
        else:
            flat[path] = value
    return flat


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for path, value in flat.items():
        node = nested
        *parents, leaf = path.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[leaf] = value
    return nested


def _genoflow_env(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = name[len(ENV_PREFIX) :].lower().replace("__", ".")
        values[path] = _split_if_list(path, raw)
        sources[path] = f"env {name}"
    return values, sources


def _azure_env(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    values = {path: environ[name] for name, path in AZURE_ENV.items() if environ.get(name)}
    sources = {path: f"env {name}" for name, path in AZURE_ENV.items() if environ.get(name)}
    return values, sources


def _split_if_list(path: str, raw: str) -> Any:
    """Environment values are strings; list-typed keys take whitespace/comma separated words."""
    annotation = _annotation_of(path)
    if annotation is not None and getattr(annotation, "__origin__", None) is list:
        return raw.replace(",", " ").split()
    return raw


def _annotation_of(path: str) -> Any:
    model: Any = GenoflowConfig
    annotation: Any = None
    for part in path.split("."):
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return None
        annotation = fields[part].annotation
        model = annotation
    return annotation


def _check_single_credential(merged: Mapping[str, Any], sources: Mapping[str, str]) -> None:
    present = [key for key in _CREDENTIALS if merged.get(key)]
    if len(present) > 1:
        where = ", ".join(f"{key} ({sources.get(key, DEFAULT_SOURCE)})" for key in present)
        raise ConfigError(
            f"storage: more than one credential is set: {where}",
            hint="keep exactly one of connection_string, account_key or sas_token",
        )


def _validate(merged: Mapping[str, Any], sources: Mapping[str, str]) -> GenoflowConfig:
    try:
        return GenoflowConfig.model_validate(_nest(merged))
    except ValidationError as exc:
        raise ConfigError(_describe(exc, merged, sources)) from None


def _describe(exc: ValidationError, merged: Mapping[str, Any], sources: Mapping[str, str]) -> str:
    problems = []
    for error in exc.errors():
        path = ".".join(str(part) for part in error["loc"] if not str(part).startswith("function"))
        origin = sources.get(path) or _nearest_source(path, sources)
        problems.append(f"{origin}: {path}: {_explain(error, path, merged)}")
    return "; ".join(problems)


def _nearest_source(path: str, sources: Mapping[str, str]) -> str:
    for key, source in sources.items():
        if key.startswith(path + ".") or path.startswith(key + "."):
            return source
    return "config"


def _explain(error: Mapping[str, Any], path: str, merged: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key(path)
    shown = "***" if path in SECRET_KEYS else repr(error.get("input"))
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    if kind.endswith("_type") or kind.endswith("_parsing"):
        wanted = _type_word(path)
        return f"must be {wanted} (got {shown})"
    if kind == "enum":
        return f"must be one of {error['ctx']['expected']} (got {shown})"
    if kind in {
        "greater_than_equal",
        "less_than_equal",
        "greater_than",
        "less_than",
        "string_too_long",
    }:
        return f"{error['msg'].lower()} (got {shown})"
    return f"{error['msg']} (got {shown})"


def _unknown_key(path: str) -> str:
    parent, _, leaf = path.rpartition(".")
    model: Any = GenoflowConfig
    for part in filter(None, parent.split(".")):
        model = model.model_fields[part].annotation
    known = (
        list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []
    )
    close = difflib.get_close_matches(leaf, known, n=1)
    scope = f"'{parent}'" if parent else "the top level"
    suggestion = f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(known)}"
    return f"unknown key in {scope}: {suggestion}"


def _type_word(path: str) -> str:
    annotation = _annotation_of(path)
    names = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}
    for candidate in (annotation, *get_args(annotation)):
        if candidate in names:
            return names[candidate]
        if getattr(candidate, "__origin__", None) is list:
            return "a list"
    return "a value of the right type"
