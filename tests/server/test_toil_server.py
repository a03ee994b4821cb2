"""The server with `engine: toil` (toil-cwl-runner, single_machine) calls what cwltool calls."""

from __future__ import annotations

import shutil
from pathlib import Path

import pysam
import pytest
import requests

from genoflow.demo import DemoData
from genoflow.pipelines import TOIL_REQUIREMENT
from genoflow.transfer import download_blob
from tests.harness import Azurite
from tests.server.conftest import make_server
from tests.server.test_e2e import _env, _final_run, _store, _submit, output_name

pytestmark = [
    pytest.mark.azurite,
    pytest.mark.pipeline,
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("toil-cwl-runner") is None,
        reason=f"toil-cwl-runner is not on PATH ('make test' installs {TOIL_REQUIREMENT} into "
        ".venv-toil and puts it on PATH)",
    ),
]


def _calls(vcf: Path) -> list[tuple[str, int, str, tuple[str, ...]]]:
    with pysam.VariantFile(str(vcf)) as records:
        return [(r.chrom, r.pos, r.ref, r.alts or ()) for r in records]


def _run_on(engine: str, tmp_path: Path, azurite: Azurite, demo: DemoData, name: str) -> Path:
    server = make_server(tmp_path / engine, azurite, demo, engine=engine)
    server.start()
    try:
        info = requests.get(
            server.url + "/ga4gh/wes/v1/service-info",
            headers={"Authorization": f"Bearer {server.api_key}"},
            timeout=30,
        ).json()
        assert list(info["workflow_engine_versions"]) == [engine]
        assert info["workflow_engine_versions"][engine]["workflow_engine_version"][0][:1].isdigit()
        env = _env(server, azurite, f"{name}{engine[:2]}", "msgenomics")
        code, documents, stderr = _submit(
            env, "-b1", str(demo.fastq_r1), "-b2", str(demo.fastq_r2), "--wait"
        )
        assert code == 0, stderr + server.log_text()[-3000:]
        assert _final_run(documents)["state"] == "succeeded"
    finally:
        server.stop()
    out = f"{name}{engine[:2]}-out"
    vcf = output_name(azurite, out, demo.sample, ".vcf")
    return Path(download_blob(_store(azurite), out, vcf, tmp_path / f"{engine}-out").path)


def test_toil_engine_calls_the_same_variants(
    tmp_path: Path, azurite: Azurite, demo_data: DemoData, unique_name: str
) -> None:
    toil_vcf = _run_on("toil", tmp_path, azurite, demo_data, unique_name)
    cwltool_vcf = _run_on("cwltool", tmp_path, azurite, demo_data, unique_name)
    toil_calls = _calls(toil_vcf)
    assert len(toil_calls) > 100
    assert toil_calls == _calls(cwltool_vcf)
