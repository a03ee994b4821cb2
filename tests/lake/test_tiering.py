"""Tiering knows the lake: its table files are never archived (nor taken for untracked blobs),
``genoflow cost`` shows its footprint, and ``since: lake`` lets a VCF in the lake go cold sooner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genoflow.lake.schema import CALLS_TABLE, QC_TABLE, RUNS_TABLE
from genoflow.tiering.cost import cost_report
from genoflow.tiering.engine import make_plan
from genoflow.tiering.facts import LAKE_TABLES, LAKE_TAG, BlobFacts, format_time
from genoflow.tiering.policy import load_policy, parse_policy
from genoflow.tiering.prices import PriceTable, load_prices
from tests.harness import run_cli
from tests.lake.conftest import LakeCase
from tests.tiering.fixtures import BLOBS, NOW, RUNS, days_ago, output_blob

LAKE = "lake"
ARCHIVE_EVERYTHING_OLD = """
version: 1
rules:
  - {name: untracked-to-archive, role: untracked, since: modified, days: 30, action: Archive}
  - {name: lake-to-cool, role: lake, since: modified, days: 60, action: Cool}
  - {name: lake-to-archive, role: lake, since: modified, days: 90, action: Archive}
"""


def lake_blobs() -> list[BlobFacts]:
    return [
        BlobFacts(
            LAKE,
            "calls/_delta_log/00000000000000000000.json",
            2_000,
            "Hot",
            last_modified=days_ago(400),
        ),
        BlobFacts(
            LAKE,
            "calls/sampleId=s1/contigName=chr1/part-0.parquet",
            5 * 2**20,
            "Hot",
            last_modified=days_ago(400),
        ),
        BlobFacts(LAKE, "runs/part-0.parquet", 10_000, "Hot", last_modified=days_ago(400)),
    ]


def test_lake_tables_are_the_lakes() -> None:
    assert (CALLS_TABLE, RUNS_TABLE, QC_TABLE) == LAKE_TABLES


def test_the_default_policy_leaves_the_lake_alone() -> None:
    plan = make_plan(
        [*BLOBS, *lake_blobs()], RUNS, load_policy(), NOW, PriceTable(), lake_container=LAKE
    )
    assert not [d for d in plan.decisions if d.blob.container == LAKE]


def test_no_rule_archives_the_lake_but_it_may_cool() -> None:
    policy = parse_policy(ARCHIVE_EVERYTHING_OLD, "test")
    blobs = [*lake_blobs(), BlobFacts(LAKE, "notes.txt", 10, "Hot", last_modified=days_ago(400))]
    plan = make_plan(blobs, (), policy, NOW, PriceTable(), lake_container=LAKE)
    moves = {d.blob.name: (d.target, d.rule) for d in plan.decisions}
    assert moves == {
        **{b.name: ("Cool", "lake-to-cool") for b in lake_blobs()},
        "notes.txt": ("Archive", "untracked-to-archive"),  # not a table file: untracked
    }
    assert plan.held["lake table files stay online: queries read them"] == 0  # Cool chosen
    without_lake = make_plan(lake_blobs(), (), policy, NOW, PriceTable())
    assert {d.target for d in without_lake.decisions} == {"Archive"}  # what it prevents


def test_an_archive_only_rule_is_held_for_lake_files() -> None:
    policy = parse_policy(
        "version: 1\nrules:\n  - {name: a, role: lake, since: modified, days: 1, action: Archive}",
        "t",
    )
    plan = make_plan(lake_blobs(), (), policy, NOW, PriceTable(), lake_container=LAKE)
    assert plan.decisions == []
    assert plan.held["lake table files stay online: queries read them"] == 3


def test_since_lake_cools_a_vcf_in_the_lake_sooner() -> None:
    policy = parse_policy(
        """
version: 1
rules:
  - {name: vcf-in-lake-to-cold, role: output, kinds: [vcf, tbi], since: lake, days: 7,
     action: Cold}
""",
        "test",
    )
    in_lake = output_blob("s9.vcf.gz", run="1", modified=100)
    in_lake = BlobFacts(
        **{**in_lake.__dict__, "tags": {**in_lake.tags, LAKE_TAG: format_time(days_ago(10))}}
    )
    fresh = BlobFacts(
        **{
            **in_lake.__dict__,
            "name": "s8.vcf.gz",
            "tags": {**in_lake.tags, LAKE_TAG: format_time(days_ago(2))},
        }
    )
    not_in = output_blob("s7.vcf.gz", run="1", modified=100)
    plan = make_plan([in_lake, fresh, not_in], RUNS, policy, NOW, PriceTable())
    assert [(d.blob.name, d.target) for d in plan.decisions] == [("s9.vcf.gz", "Cold")]
    assert plan.held["not in the lake yet"] == 1
    assert "lake 2026-05-22" in plan.decisions[0].reason


@pytest.mark.parametrize("role", ["input", "untracked", "lake"])
def test_since_lake_is_for_outputs(role: str) -> None:
    from genoflow.errors import ConfigError

    rule = f"{{name: x, role: {role}, since: lake, days: 1, action: Cool}}"
    with pytest.raises(ConfigError, match=r"applies to outputs only|have no run"):
        parse_policy(f"version: 1\nrules:\n  - {rule}", "t")


def test_cost_report_shows_the_lake_footprint() -> None:
    report = cost_report([*BLOBS, *lake_blobs()], RUNS, load_prices(), lake_container=LAKE)
    data = report.to_dict()
    size = sum(b.size for b in lake_blobs())
    assert data["lake"]["container"] == LAKE
    assert (data["lake"]["blobs"], data["lake"]["bytes"]) == (3, size)
    assert data["containers"][LAKE]["Hot"]["bytes"] == size
    assert data["untracked"]["blobs"] == 2  # the lake's files are not untracked blobs
    assert data["total"]["bytes"] == sum(b.size for b in BLOBS) + size


@pytest.mark.azurite
def test_lake_add_tags_the_vcf_and_cost_and_plan_see_the_lake(
    case: LakeCase, vcf_dir: Path, tmp_path: Path
) -> None:
    run = case.sample_run(vcf_dir / "NA12878.vcf.gz")
    assert run_cli(["lake", "add", run.id], env=case.env()).exit_code == 0
    tagged = {b.name: b.tags or {} for b in case.store.list_blobs(case.outputs, include_tags=True)}
    for name in ("NA12878/NA12878.vcf.gz", "NA12878/NA12878.vcf.gz.tbi"):
        assert LAKE_TAG in tagged[name]
    cost = run_cli(["--json", "cost"], env=case.env())
    assert cost.exit_code == 0, cost.stderr
    lake = json.loads(cost.stdout)["lake"]
    files = [b for b in case.store.list_blobs(case.lake) if b.name.split("/")[0] in LAKE_TABLES]
    assert lake["container"] == case.lake
    assert (lake["blobs"], lake["bytes"]) == (len(files), sum(b.size for b in files))
    text = run_cli(["cost"], env=case.env())
    assert f"variant lake (container {case.lake}): {len(files)} files" in text.stdout

    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nrules:\n"
        "  - {name: vcf-cold, role: output, kinds: [vcf], since: lake, days: 0, action: Cold}\n"
        "  - {name: old-archive, role: untracked, since: modified, days: 0, action: Archive}\n"
    )
    plan = run_cli(["--json", "tier", "plan", "--policy", str(policy)], env=case.env())
    assert plan.exit_code == 0, plan.stderr
    changes = {c["blob"]: c["new_tier"] for c in json.loads(plan.stdout)["changes"]}
    assert changes[f"{case.outputs}/NA12878/NA12878.vcf.gz"] == "Cold"
    assert not [blob for blob in changes if blob.startswith(f"{case.lake}/")]
