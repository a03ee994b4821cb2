"""What a run records and shows over both APIs: the sample name on the old wire, the outputs
the executor committed (one list over both protocols), and its log."""

from __future__ import annotations

import dataclasses

from genoflow.model.submission import SubmitRequest
from tests.server.inproc import MSGEN, InProc, sample_request


def _with(request: SubmitRequest, **options: object) -> SubmitRequest:
    return dataclasses.replace(request, options=dataclasses.replace(request.options, **options))


def test_old_wire_sample_comes_from_the_read_group_never_from_the_output_base(
    inproc: InProc,
) -> None:
    named = _with(sample_request(), read_group=r"@RG\tID:l1\tSM:H3", output_filename_base="H3r2")
    unnamed = _with(sample_request(), output_filename_base="H3r2")
    ids = [inproc.submit_msgen(request).json()["Id"] for request in (named, unnamed)]
    stored = [inproc.store.get(run_id).request["submit"] for run_id in ids]
    assert [s["sample"] for s in stored] == ["H3", "S1"]  # S1: from S1_1.fq.gz
    assert {s["options"]["output_filename_base"] for s in stored} == {"H3r2"}  # -of names files
    assert inproc.client.get(f"{MSGEN}{ids[0]}").json()["Description"] == "sample S"
