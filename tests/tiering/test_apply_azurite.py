"""plan/apply against the real Azurite emulator, runs from a seeded service, ages via 'now'."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from genoflow.config.schema import StorageConfig
from genoflow.model import tags as t
from genoflow.storage.base import BlobStore
from genoflow.tiering.apply import LOCK_NAME, ApplyRunningError
from genoflow.tiering.facts import format_time
from genoflow.tiering.jobs import apply_job, open_stores, plan_job, read_inventory
from genoflow.tiering.policy import load_policy
from genoflow.tiering.prices import PriceTable
from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, Azurite, run_cli_subprocess
from tests.tiering.stub_service import SeededService, run

pytestmark = pytest.mark.azurite
NOW = datetime.now(timezone.utc)


def storage_config(azurite: Azurite, name: str, account_url: str | None = None) -> StorageConfig:
    return StorageConfig(
        account_url=account_url or azurite.account_url,
        account_name=AZURITE_ACCOUNT,
        account_key=AZURITE_KEY,
        input_container=f"{name}-in",
        output_container=f"{name}-out",
    )


def put(store: BlobStore, container: str, name: str, tags: dict[str, str]) -> None:
    from azure.storage.blob import BlobServiceClient

    service: BlobServiceClient = store._service  # type: ignore[attr-defined]
    service.get_blob_client(container, name).upload_blob(b"x" * 10, tags=tags or None)


@pytest.fixture
def world(azurite: Azurite, unique_name: str) -> Iterator[tuple[StorageConfig, SeededService]]:
    """Runs: 1 succeeded 100 d ago (fetched), 2 succeeded 40 d ago (unfetched), 3 failed 40 d
    ago, 4 running. Inputs tagged as submit tags them; outputs untagged except the fetched."""
    config = storage_config(azurite, unique_name)
    stores, _ = open_stores(config)
    inp, out = config.input_container, config.output_container
    for container in (inp, out):
        stores[container].ensure_container(container)
    fetched = {t.FETCHED: format_time(NOW - timedelta(days=90))}
    for run_id, sample in (("1", "s1"), ("2", "s2"), ("3", "s3"), ("4", "s4")):
        tags = {t.RUN_ID: run_id, t.ROLE: "input", t.OUTPUT_BASE: f"{out}/{sample}"}
        put(stores[inp], inp, f"{sample}_1.fq.gz", tags)
        put(stores[inp], inp, f"{sample}_2.fq.gz", tags)
        for suffix in (".bam", ".bam.bai", ".vcf"):
            put(stores[out], out, sample + suffix, fetched if run_id in "13" else {})
    service = SeededService(
        [
            run("1", "succeeded", 100, now=NOW),
            run("2", "succeeded", 40, now=NOW),
            run("3", "failed", 40, now=NOW),
            run("4", "running", now=NOW),
        ]
    )
    yield config, service


def tiers(config: StorageConfig) -> dict[str, str]:
    stores, _ = open_stores(config)
    return {
        f"{c}/{b.name}".split("-", 1)[1]: str(b.tier)
        for c, s in stores.items()
        for b in s.list_blobs(c)
        if not b.name.startswith(".genoflow")
    }


EXPECTED = {
    "in/s1_1.fq.gz": "Archive",
    "in/s1_2.fq.gz": "Archive",  # succeeded 100 d ago
    "in/s2_1.fq.gz": "Cool",
    "in/s2_2.fq.gz": "Cool",  # succeeded 40 d ago
    "out/s1.bam": "Cool",
    "out/s3.bam": "Cool",  # fetched BAMs of ended runs, 40+ days
}


def test_plan_then_apply_sets_exactly_the_expected_tiers(world) -> None:
    config, service = world
    stores, containers = open_stores(config)
    plan = plan_job(read_inventory(stores, containers, service), load_policy(), PriceTable(), NOW)
    assert {
        f"{d.blob.container}/{d.blob.name}".split("-", 1)[1]: d.target for d in plan.decisions
    } == EXPECTED
    assert tiers(config) == dict.fromkeys(tiers(config), "Hot")  # plan changed nothing

    _, result, line = apply_job(stores, containers, service, load_policy(), PriceTable(), NOW)
    assert result.ok and line["changed"] == 6 and line["failed"] == 0
    after = tiers(config)
    assert {name: tier for name, tier in after.items() if tier != "Hot"} == EXPECTED
    assert after["in/s4_1.fq.gz"] == "Hot" and after["out/s4.bam"] == "Hot"  # running run
    assert after["out/s2.bam"] == "Hot"  # not fetched yet
    assert len(after) == 20  # nothing deleted
    # outputs of terminal runs were tied to their runs by tags, for every other host to see
    s2 = stores[config.output_container].get_blob(config.output_container, "s2.bam")
    tagged = (
        stores[config.output_container]
        ._service.get_blob_client(  # type: ignore[attr-defined]
            config.output_container, "s2.bam"
        )
        .get_blob_tags()
    )
    assert tagged[t.RUN_ID] == "2" and tagged[t.ROLE] == "output" and s2.tier == "Hot"
    out = config.output_container
    [s1] = [b for b in stores[out].list_blobs(out, "s1", include_tags=True) if b.name == "s1.bam"]
    assert s1.tags and s1.tags[t.RUN_ID] == "1" and s1.tags[t.FETCHED]  # fetch time kept

    _, again, line = apply_job(stores, containers, service, load_policy(), PriceTable(), NOW)
    assert (line["planned"], line["changed"], line["tagged"]) == (0, 0, 0) and again.ok
    assert tiers(config) == after
    # the listing says when a tier was set (early-deletion charges, rehydration holds); an
    # inferred Hot tier was never set
    changed = {
        f"{b.container}/{b.name}".split("-", 1)[1]: b.tier_changed
        for b in read_inventory(stores, containers, service).blobs
    }
    assert all(changed[name] is not None for name in EXPECTED)
    assert {name for name, when in changed.items() if when is None} == set(after) - set(EXPECTED)


def test_delete_needs_allow_delete(world) -> None:
    from genoflow.tiering.policy import parse_policy

    config, service = world
    stores, containers = open_stores(config)
    policy = parse_policy(
        "deletable_roles: [input]\nrules: [{name: d, role: input, "
        "run_states: [failed], days: 30, action: delete}]",
        "t",
    )
    _, _, line = apply_job(stores, containers, service, policy, PriceTable(), NOW)
    assert line["deleted"] == 0 and "in/s3_1.fq.gz" in tiers(config)
    _, _, line = apply_job(
        stores, containers, service, policy, PriceTable(), NOW, allow_delete=True
    )
    assert line["deleted"] == 2 and "in/s3_1.fq.gz" not in tiers(config)


def test_a_held_lock_stops_apply_and_two_applies_never_both_run(world) -> None:
    config, service = world
    stores, containers = open_stores(config)
    out = containers["output"]
    with (
        stores[out].acquire_lock(out, LOCK_NAME, 15),
        pytest.raises(ApplyRunningError, match="another apply is running"),
    ):
        apply_job(stores, containers, service, load_policy(), PriceTable(), NOW)
    assert tiers(config) == dict.fromkeys(tiers(config), "Hot")

    # Two at once: the lock holder applies; the other one says so and changes nothing.
    slow = SlowService(service)
    barrier = threading.Barrier(2)

    def one() -> str:
        barrier.wait()
        try:
            _, result, _ = apply_job(*open_stores(config), slow, load_policy(), PriceTable(), NOW)
        except ApplyRunningError:
            return "refused"
        return f"applied {result.changed}"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(lambda _: one(), range(2)))
    assert outcomes == ["applied 6", "refused"]


class SlowService(SeededService):
    """Listing runs takes a while, so the two applies overlap for sure."""

    def __init__(self, inner: SeededService) -> None:
        super().__init__(list(inner.runs.values()))

    def list(self, filters=None, **kwargs):  # type: ignore[no-untyped-def]
        threading.Event().wait(1.0)
        yield from super().list(filters)


def test_a_lost_lock_stops_sending_and_release_errors_do_not_mask_the_result(world) -> None:
    from azure.storage.blob import BlobLeaseClient

    from genoflow.tiering.apply import apply_lock, apply_plan

    config, service = world
    stores, containers = open_stores(config)
    out = containers["output"]
    plan = plan_job(read_inventory(stores, containers, service), load_policy(), PriceTable(), NOW)
    assert len(plan.decisions) == 6
    with apply_lock(stores[out], out, seconds=15) as guard:
        # Another party breaks the lease (as Azure does when it expires): the renewer notices.
        blob = stores[out]._service.get_blob_client(out, LOCK_NAME)  # type: ignore[attr-defined]
        BlobLeaseClient(blob).break_lease(lease_break_period=0)
        for _ in range(100):
            if guard.lost():
                break
            threading.Event().wait(0.1)
        reason = guard.lost()
        assert reason and "the apply lock was lost" in reason
        result = apply_plan(plan, stores, stop=guard.lost)
    # leaving the block released a broken lease: logged, not raised
    assert (result.changed, result.failed) == (0, 6 + len(plan.tag_updates))
    assert all("not sent: the apply lock was lost" in error for error in result.errors)
    assert tiers(config) == dict.fromkeys(tiers(config), "Hot")


def _cli_env(config: StorageConfig) -> dict[str, str]:
    return {
        "GENOFLOW_STORAGE__ACCOUNT_URL": str(config.account_url),
        "GENOFLOW_STORAGE__ACCOUNT_NAME": AZURITE_ACCOUNT,
        "GENOFLOW_STORAGE__ACCOUNT_KEY": AZURITE_KEY,
        "GENOFLOW_STORAGE__INPUT_CONTAINER": config.input_container,
        "GENOFLOW_STORAGE__OUTPUT_CONTAINER": config.output_container,
        # never reached: the lock is taken before the service is asked anything
        "GENOFLOW_SERVICE__URL": "http://127.0.0.1:9",
    }


def _catches_sigterm(pid: int) -> bool:
    """Whether the process has a SIGTERM handler installed (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


def test_apply_stopped_by_the_lock_or_sigterm_still_prints_its_json_line(world) -> None:
    config, _ = world
    stores, containers = open_stores(config)
    out = containers["output"]
    env = _cli_env(config)
    with stores[out].acquire_lock(out, LOCK_NAME, 60):
        refused = run_cli_subprocess(["tier", "apply"], env=env, timeout=120)
        line = json.loads(refused.stdout.strip().splitlines()[-1])
        assert refused.returncode == 6, refused.stderr
        assert line["event"] == "genoflow-tier-apply" and line["ok"] is False
        assert "another apply is running" in line["error"]
        assert AZURITE_KEY not in refused.stdout + refused.stderr

        waiting = subprocess.Popen(
            [sys.executable, "-m", "genoflow", "tier", "apply", "--lock-wait", "120"],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            for _ in range(300):
                if _catches_sigterm(waiting.pid):
                    break
                threading.Event().wait(0.1)
            waiting.send_signal(signal.SIGTERM)
            stdout, stderr = waiting.communicate(timeout=30)
        finally:
            waiting.kill()
    assert waiting.returncode == 130, stderr
    line = json.loads(stdout.strip().splitlines()[-1])
    assert line["ok"] is False and line["error"] == "interrupted"
    assert stderr.strip().splitlines()[-1].endswith("interrupted")
    assert tiers(config) == dict.fromkeys(tiers(config), "Hot")
