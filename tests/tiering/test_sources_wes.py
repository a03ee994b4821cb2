"""Runs for the tiering engine from a WES service, whose listing gives only summaries."""

from __future__ import annotations

import pytest
import responses

from genoflow.model import tags as t
from genoflow.model.runs import RunState
from genoflow.tiering.facts import BlobFacts, BlobRef, RunPhase
from genoflow.tiering.sources import collect_runs
from tests.protocols.fakes import FakeWes
from tests.protocols.helpers import FakeClock, make_client, two_pair_request


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeWes(mock)


def _gets(fake: FakeWes) -> list[str]:
    return sorted(
        call.request.url.rsplit("/", 1)[-1]
        for call in fake.mock.calls
        if call.request.method == "GET" and "/runs/" in (call.request.url or "")
    )


def test_active_and_tagged_runs_are_read_in_full_others_left_as_listed(fake: FakeWes) -> None:
    client = make_client("wes", "http://wes.test", FakeClock())
    active = client.submit(two_pair_request())  # queued: its inputs must be held
    tagged = fake.add(RunState.SUCCEEDED)
    untouched = fake.add(RunState.SUCCEEDED)
    blob = BlobFacts("inputs", "old_1.fq.gz", 1, tags={t.RUN_ID: tagged.id})

    runs = {run.id: run for run in collect_runs(client, [blob])}

    assert set(runs) == {active.id, tagged.id, untouched.id}
    assert _gets(fake) == sorted([active.id, tagged.id])  # one GET each, none for the third
    assert runs[active.id].phase is RunPhase.active
    assert set(runs[active.id].inputs) == {
        BlobRef("inputs", name) for name in ("A_1.fq.gz", "A_2.fq.gz", "B_1.fq.gz", "B_2.fq.gz")
    }
    assert runs[tagged.id].phase is RunPhase.succeeded and runs[tagged.id].ended is not None
