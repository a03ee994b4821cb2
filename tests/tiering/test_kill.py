"""Kill test: 'tier apply' over 2,100 blobs killed midway; the rerun finishes; nothing set twice.

Every request goes through a counting proxy, which counts the Set Blob Tier sub-requests per
blob by reading the batch bodies on the wire (independent of genoflow's own bookkeeping) and
kills the child right after the server applied the 2nd batch, before the child sees the answer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from genoflow.model import tags as t
from tests.harness import AZURITE_KEY, ROOT, Azurite
from tests.tiering.proxy import CountingProxy

pytestmark = [pytest.mark.azurite, pytest.mark.slow]
BLOBS = 2100
POLICY = "rules: [{name: cool, role: input, days: 7, action: Cool}]"


def seed(azurite: Azurite, container: str) -> list[str]:
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    client = service.create_container(container)
    names = [f"reads/s{i:05d}_1.fq.gz" for i in range(BLOBS)]
    tags = {t.RUN_ID: "7", t.ROLE: t.ROLE_INPUT}
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: client.upload_blob(n, b"@r\nA\n+\nI\n", tags=tags), names))
    return names


def child(spec: dict[str, str]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.tiering.apply_child", json.dumps(spec)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_apply_killed_midway_then_rerun_sets_every_blob_exactly_once(
    azurite: Azurite, unique_name: str
) -> None:
    inputs = f"{unique_name}-in"
    names = seed(azurite, inputs)
    proxy = CountingProxy(azurite.port)
    spec = {
        "account_url": f"http://127.0.0.1:{proxy.port}/devstoreaccount1",
        "key": AZURITE_KEY,
        "input": inputs,
        "output": f"{unique_name}-out",
        "policy": POLICY,
        "run_id": "7",
    }
    try:
        first = child(spec)
        proxy.after_batch = lambda n: first.send_signal(signal.SIGKILL) if n == 2 else None
        first.wait(timeout=60)
        assert first.returncode == -signal.SIGKILL
        set_by_first = sum(proxy.tier_sets.values())
        assert 0 < set_by_first < BLOBS  # really midway

        proxy.after_batch = None
        second = child({**spec, "lock_wait": "30"})  # the dead host's 15 s lease must expire
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err
        line = json.loads(out.splitlines()[-1])
        assert line["ok"] and line["changed"] == BLOBS - set_by_first
    finally:
        proxy.close()

    from azure.storage.blob import BlobServiceClient

    container = BlobServiceClient.from_connection_string(
        azurite.connection_string
    ).get_container_client(inputs)
    final = {b.name: b.blob_tier for b in container.list_blobs() if b.name in set(names)}
    assert final == dict.fromkeys(names, "Cool")
    sets = {path.rsplit(f"/{inputs}/", 1)[1]: n for path, n in proxy.tier_sets.items()}
    assert sorted(sets) == sorted(names) and max(sets.values()) == 1
