"""Where each run option lives at each boundary: one row per option of the run's descriptor.

The descriptor is :class:`~genoflow.model.submission.SubmitRequest` with its
:class:`~genoflow.model.submission.PipelineOptions` (typed, frozen, pure). The mappers read this
table instead of copying options field by field: the CLI's overrides (``genoflow submit``), the
msgen ``config.txt`` keys, the sample-sheet columns, the effective config -> options
(``options_from_settings``), the old wire's ``OptionalArgs`` and WES ``workflow_params``. The CWL
job (``genoflow.pipelines.job_for``) maps option values to pipeline inputs, which is semantics,
not spelling, so it is code. Adding an option: a field on PipelineOptions, a row here, its config
key, its CLI parameter, its field on each wire model, and its use in ``job_for``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["text", "bool", "lower", "list"]


@dataclass(frozen=True)
class OptionSpec:
    """One option of :class:`PipelineOptions` (``name``) at every boundary that spells it."""

    name: str
    config: str  # key under ``workflow:`` in genoflow.yaml
    param: str  # the submit command's parameter (its flags are declared on it)
    flag: str  # the flag named in messages and provenance ("flag -bqsr")
    kind: Kind = "text"
    msgen_key: str | None = None  # msgen config.txt
    sheet: str | None = None  # sample-sheet column
    optional_arg: str | None = None  # old wire: the OptionalArgs key (genoflow extensions too)
    wes: str | None = None  # WES workflow_params key

    @property
    def config_path(self) -> str:
        return f"workflow.{self.config}"


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("process", "process", "process", "-p", msgen_key="process_name",
               sheet="process", wes="process"),
    OptionSpec("process_args", "process_args", "process_args", "-pa", msgen_key="process_args",
               sheet="process_args", wes="process_args"),
    OptionSpec("reference", "reference", "reference", "--reference", sheet="reference",
               wes="reference"),
    OptionSpec("bqsr", "bqsr", "bqsr", "-bqsr", "bool", msgen_key="bqsr_enabled", sheet="bqsr",
               optional_arg="BQSR", wes="bqsr"),
    OptionSpec("read_group", "read_group", "read_group", "-rg", msgen_key="read_group",
               sheet="read_group", optional_arg="ReadGroupLine", wes="read_group"),
    OptionSpec("emit_ref_confidence", "emit_ref_confidence", "ref_confidence", "-erc", "lower",
               msgen_key="emit_ref_confidence", sheet="emit_ref_confidence",
               optional_arg="GatkEmitRefConfidence", wes="emit_ref_confidence"),
    OptionSpec("bgzip_output", "bgzip_output", "bgzip", "-bz", "bool", msgen_key="bgzip_output",
               sheet="bgzip_output", optional_arg="BgzipOutput", wes="bgzip_output"),
    OptionSpec("output_filename_base", "output_filename_base", "output_base", "-of",
               msgen_key="output_filename_base", sheet="output_filename_base",
               wes="output_base"),
    OptionSpec("overwrite", "output_overwrite", "overwrite", "-ow", "bool",
               msgen_key="output_overwrite", wes="overwrite"),
    OptionSpec("include_logs", "output_include_logs", "include_logs", "-ol", "bool",
               msgen_key="output_include_logfiles", wes="include_logs"),
    OptionSpec("description", "description", "description", "-d", msgen_key="description",
               sheet="description", wes="description"),
    OptionSpec("known_sites", "known_sites", "known_sites", "--known-sites", "list",
               msgen_key="known_sites", sheet="known_sites", optional_arg="KnownSites",
               wes="known_sites"),
)  # fmt: skip

BY_NAME: Mapping[str, OptionSpec] = {spec.name: spec for spec in OPTIONS}


def optional_args(options: Any) -> dict[str, Any]:
    """The old wire's ``OptionalArgs`` of ``options``: only what the user set (not None/empty)."""
    values = {spec.optional_arg: getattr(options, spec.name) for spec in OPTIONS}
    return {key: _wire(value) for key, value in values.items() if key and value not in (None, ())}


def from_optional_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """PipelineOptions fields from a parsed ``OptionalArgs`` (absent keys left out)."""
    found = {spec.name: args.get(spec.optional_arg) for spec in OPTIONS if spec.optional_arg}
    return {name: _field(value) for name, value in found.items() if value is not None}


def wes_params(options: Any) -> dict[str, Any]:
    """The option part of genoflow's WES ``workflow_params``."""
    values = {spec.wes: getattr(options, spec.name) for spec in OPTIONS if spec.wes}
    return {key: _wire(value) for key, value in values.items() if value is not None}


def from_wes_params(params: Any) -> dict[str, Any]:
    """PipelineOptions fields from genoflow's parsed WES params (a model with ``spec.wes``)."""
    return {spec.name: _field(getattr(params, spec.wes)) for spec in OPTIONS if spec.wes}


def _wire(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _field(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


__all__ = ["BY_NAME", "OPTIONS", "OptionSpec", "from_optional_args", "optional_args"]
