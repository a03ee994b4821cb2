"""A child process that runs 'tier apply' through the library (the kill test kills it).

argv[1]: JSON {"account_url", "key", "input", "output", "policy", "run": {...}}. The service is
seeded with one succeeded run (a stub of the service only; storage is the real Azurite).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

from genoflow.config.schema import StorageConfig
from genoflow.tiering.jobs import apply_job, open_stores
from genoflow.tiering.policy import parse_policy
from genoflow.tiering.prices import PriceTable
from tests.tiering.stub_service import SeededService, run


def main() -> None:
    spec = json.loads(sys.argv[1])
    storage = StorageConfig(
        account_url=spec["account_url"],
        account_name="devstoreaccount1",
        account_key=spec["key"],
        input_container=spec["input"],
        output_container=spec["output"],
    )
    stores, containers = open_stores(storage)
    client = SeededService([run(spec["run_id"], "succeeded", ended_days_ago=200)])
    _, result, line = apply_job(
        stores,
        containers,
        client,
        parse_policy(spec["policy"], "t"),
        PriceTable(),
        datetime.now(timezone.utc),
        lock_seconds=15,
        lock_wait=float(spec.get("lock_wait", 0)),
    )
    print(json.dumps(line), flush=True)
    sys.exit(0 if result.ok else 6)


if __name__ == "__main__":
    main()
