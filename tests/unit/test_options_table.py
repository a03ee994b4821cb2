"""Every run option, table-driven, from each place a user sets it (its CLI flag, its msgen
config.txt key, its sample-sheet column) through both wires, both directions (the client's body
parsed by the server's reading), to the CWL job the server builds. The table is
genoflow.model.descriptor.OPTIONS: an option missing a mapper fails here."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from genoflow.cli.app import build_app
from genoflow.cli.run_cmds import _option_overrides, _sheet_value, msgen_argv
from genoflow.config.loader import load_settings
from genoflow.model.descriptor import OPTIONS
from genoflow.model.submission import InputKind, PipelineOptions, SubmitRequest
from genoflow.orchestration.submit import options_from_settings, read_sample_sheet
from genoflow.pipelines import JobFiles, job_for
from genoflow.protocols.msgenomics import wire as ms
from genoflow.protocols.wes import wire as wes

Job = dict[str, Any]
# option -> (CLI words, config.txt value, sheet cell, check of the server's CWL job)
CASES: dict[str, tuple[list[str], str, str, Callable[[Job, PipelineOptions], bool]]] = {
    "process": (["-p", "gatk4"], "gatk4", "gatk4", lambda j, o: j["caller"] == "gatk"),
    "process_args": (["-pa", "R=hg38m1;GERC=gvcf"], "R=hg38m1;GERC=gvcf", "R=hg38m1;GERC=gvcf",
                     lambda j, o: j["reference_name"] == "hg38m1" and j["gvcf"] is True),
    "reference": (["--reference", "hg19m1"], "", "hg19m1",
                  lambda j, o: j["reference_name"] == "hg19m1"),
    "bqsr": (["-bqsr", "false"], "false", "false", lambda j, o: o.bqsr is False),
    "read_group": (["-rg", r"@RG\tID:L7\tSM:X"], r"@RG\tID:L7\tSM:X", r"@RG\tID:L7\tSM:X",
                   lambda j, o: j["read_group"] == r"@RG\tID:L7\tSM:X"),
    "emit_ref_confidence": (["-erc", "GVCF"], "GVCF", "gvcf", lambda j, o: j["gvcf"] is True),
    "bgzip_output": (["-bz", "true"], "true", "true", lambda j, o: j["bgzip"] is True),
    "output_filename_base": (["-of", "runs/x/S"], "runs/x/S", "runs/x/S",
                             lambda j, o: j["output_base"] == "runs/x/S"),
    "overwrite": (["-ow", "true"], "true", "", lambda j, o: j["overwrite"] is True),
    "include_logs": (["-ol", "false"], "false", "", lambda j, o: j["include_logs"] is False),
    "description": (["-d", "lane 7"], "lane 7", "lane 7", lambda j, o: o.description == "lane 7"),
    "known_sites": (["--known-sites", "dbsnp.vcf.gz", "--known-sites", "https://a.b/c/m.vcf"],
                    "dbsnp.vcf.gz https://a.b/c/m.vcf", "dbsnp.vcf.gz;https://a.b/c/m.vcf",
                    lambda j, o: [s.get("location") or Path(s["path"]).name
                                  for s in j.get("known_sites", [])]
                    == ["dbsnp.vcf.gz", "https://a.b/c/m.vcf"]),
}  # fmt: skip
BASE = ["-b1", "S_1.fq.gz", "-b2", "S_2.fq.gz"]
MSGEN_KEY_OF = {spec.name: spec.msgen_key for spec in OPTIONS}


def test_the_table_covers_every_option_field() -> None:
    assert {spec.name for spec in OPTIONS} == set(PipelineOptions.__dataclass_fields__)
    assert set(CASES) == {spec.name for spec in OPTIONS}


def _from_flags(words: list[str]) -> PipelineOptions:
    command = build_app().commands["submit"]
    context = command.make_context("submit", msgen_argv([*BASE, *words]))  # type: ignore[union-attr]
    settings = load_settings(None, _option_overrides(context.params), environ={})
    return options_from_settings(settings, "S")


def _from_msgen(name: str, value: str, tmp_path: Path) -> PipelineOptions | None:
    key = MSGEN_KEY_OF[name]
    if key is None or not value:
        return None
    path = tmp_path / "config.txt"
    path.write_text(f"api_url_base: https://genomics.example.org\n{key}: {value}\n")
    return options_from_settings(load_settings(path, environ={}), "S")


def _from_sheet(name: str, cell: str, tmp_path: Path) -> PipelineOptions | None:
    spec = next(spec for spec in OPTIONS if spec.name == name)
    if spec.sheet is None or not cell:
        return None
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(f'sample,r1,r2,{spec.sheet}\nS,S_1.fq.gz,S_2.fq.gz,"{cell}"\n')
    row = read_sample_sheet(sheet)[0]
    overrides = {spec.config_path: (_sheet_value(row.overrides[spec.sheet], spec.sheet), "sheet")}
    return options_from_settings(load_settings(None, overrides, environ={}), "S")


def _request(options: PipelineOptions) -> SubmitRequest:
    return SubmitRequest(
        sample="S", kind=InputKind.FASTQ, reads_1=("S_1.fq.gz",), reads_2=("S_2.fq.gz",),
        options=options, input_account="acct", input_container="inputs",
        output_account="acct", output_container="outputs",
        input_sas={"S_1.fq.gz": "sv=1&sig=x", "S_2.fq.gz": "sv=1&sig=x"}, output_sas="sv=1&sig=y",
    )  # fmt: skip


def _through_wires(request: SubmitRequest) -> list[SubmitRequest]:
    """The server's reading of what each client wire sends (JSON text in between)."""
    body = ms.SubmitBody.model_validate(
        json.loads(ms.submit_body_from_request(request, request.options.description).to_json())
    )
    form = wes.run_request_from_submit(request, "snapgatk").to_form()
    return [ms.request_from_submit_body(body), wes.submit_from_run_request(
        wes.RunRequest.from_form(form))]  # fmt: skip


def _server_job(request: SubmitRequest, tmp_path: Path) -> Job:
    reads = [tmp_path / "S_1.fq.gz", tmp_path / "S_2.fq.gz"]
    for path in reads:
        path.write_bytes(b"")
    (tmp_path / "dbsnp.vcf.gz").write_bytes(b"")
    sites = [s if s.startswith("https://") else tmp_path / s for s in request.options.known_sites]
    files = JobFiles(
        reads=reads, reference=tmp_path / "ref.fa", known_sites=sites,
        output_url="https://acct.blob.core.windows.net/outputs?sv=1&sig=y",
    )  # fmt: skip
    return job_for(request, files, form="main", gatk_available=True).document


@pytest.mark.parametrize("name", list(CASES))
def test_an_option_reaches_the_cwl_job_from_flag_config_and_sheet(
    name: str, tmp_path: Path
) -> None:
    words, config_value, cell, check = CASES[name]
    sources = {
        "flag": _from_flags(words),
        "config.txt": _from_msgen(name, config_value, tmp_path),
        "sheet": _from_sheet(name, cell, tmp_path),
    }
    default = getattr(PipelineOptions(), name)
    for source, options in sources.items():
        if options is None:
            continue
        assert getattr(options, name) != default, (name, source)
        for received in _through_wires(_request(options)):
            assert getattr(received.options, name) == getattr(options, name), (name, source)
            job = _server_job(received, tmp_path)
            assert check(job, received.options), (name, source, job)
