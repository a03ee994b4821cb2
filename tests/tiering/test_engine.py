"""The policy engine against a fixture of runs in every state, with an injected 'now'."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from genoflow.errors import ConfigError
from genoflow.model import tags as t
from genoflow.tiering.engine import make_plan, output_base_of
from genoflow.tiering.facts import BlobFacts, RunFacts, RunPhase
from genoflow.tiering.policy import load_policy, parse_policy
from genoflow.tiering.prices import GIB, PriceTable
from tests.tiering.fixtures import BLOBS, IN, NOW, OUT, RUNS, days_ago, input_blob, output_blob

PRICES = PriceTable()


def planned(
    policy_text: str | None = None, now=NOW, allow_delete: bool = False, blobs=BLOBS, runs=RUNS
) -> dict[str, tuple[str, str]]:
    policy = load_policy() if policy_text is None else parse_policy(policy_text, "test")
    plan = make_plan(blobs, runs, policy, now, PRICES, allow_delete=allow_delete)
    return {f"{d.blob.container}/{d.blob.name}": (d.target, d.rule) for d in plan.decisions}


def test_default_policy_selects_exactly_the_expected_blobs() -> None:
    assert planned() == {
        "inputs/s1_1.fq.gz": ("Archive", "inputs-to-archive"),
        "inputs/s1_2.fq.gz": ("Archive", "inputs-to-archive"),
        "outputs/s1.bam": ("Cool", "bam-to-cool"),
        "outputs/s3.bam": ("Cool", "bam-to-cool"),
    }


@pytest.mark.parametrize(
    ("days_later", "expected"),
    [
        # 4 days on, run 5's inputs reach 7 days since its end
        (4, {"inputs/s5_1.fq.gz": ("Cool", "inputs-to-cool")}),
        # 50 days on, run 2's inputs (Cool already) reach 90 days: Archive; run 5's BAM (fetched)
        # reaches 30 days; run 2's BAM is still not fetched
        (
            50,
            {
                "inputs/s2_1.fq.gz": ("Archive", "inputs-to-archive"),
                "inputs/s5_1.fq.gz": ("Cool", "inputs-to-cool"),
                "outputs/s5.bam": ("Cool", "bam-to-cool"),
            },
        ),
    ],
)
def test_the_clock_drives_the_ladder(days_later: int, expected: dict[str, tuple[str, str]]) -> None:
    # Apply the first plan's moves, then look again later: only the new moves show up.
    first = make_plan(BLOBS, RUNS, load_policy(), NOW, PRICES)
    moved = {d.blob.name: d.target for d in first.decisions}
    blobs = [
        BlobFacts(
            b.container,
            b.name,
            b.size,
            moved.get(b.name, b.tier),
            b.last_modified,
            b.created,
            b.tags,
        )
        for b in BLOBS
    ]
    assert planned(now=NOW + timedelta(days=days_later), blobs=blobs) == expected


def test_held_blobs_are_counted_with_their_reason() -> None:
    plan = make_plan(BLOBS, RUNS, load_policy(), NOW, PRICES)
    assert plan.held == {
        "run not finished": 2,
        "outputs not fetched yet": 1,
        "run 99 unknown to the service": 1,
    }


TABLE = [
    # (name, policy rules, allow_delete, expected decisions)
    (
        "untracked by age since modified",
        "rules: [{name: r, role: untracked, since: modified, days: 365, action: Cold}]",
        False,
        {"inputs/notes/readme.txt": ("Cold", "r")},
    ),
    (
        "failed runs only",
        "rules: [{name: r, role: input, run_states: [failed], days: 30, action: Cool}]",
        False,
        {"inputs/s3_1.fq.gz": ("Cool", "r")},
    ),
    (
        "kinds and since fetched",
        "rules: [{name: r, role: output, kinds: [bai, vcf], since: fetched, days: 60, "
        "action: Cold}]",
        False,
        {"outputs/s1.bam.bai": ("Cold", "r"), "outputs/s1.vcf": ("Cold", "r")},
    ),
    (
        "prefix and container",
        "rules: [{name: r, role: output, container: outputs, prefix: s2., days: 30, action: Cool}]",
        False,
        {"outputs/s2.bam": ("Cool", "r"), "outputs/s2.logs.zip": ("Cool", "r")},
    ),
    (
        "tags",
        "rules: [{name: r, role: input, tags: {genoflow-sample: s3}, days: 1, action: Cool}]",
        False,
        {"inputs/s3_1.fq.gz": ("Cool", "r")},
    ),
    (
        "never warmer, never re-archived",
        "rules: [{name: r, role: input, days: 0, action: Cool}]",
        False,
        {
            "inputs/s1_1.fq.gz": ("Cool", "r"),
            "inputs/s1_2.fq.gz": ("Cool", "r"),
            "inputs/s3_1.fq.gz": ("Cool", "r"),
            "inputs/s5_1.fq.gz": ("Cool", "r"),
        },
    ),
    (
        "delete without allow_delete falls back to the coldest tier",
        "deletable_roles: [input]\nrules: [{name: c, role: input, days: 0, action: Cold}, "
        "{name: d, role: input, run_states: [failed], days: 30, action: delete}]",
        False,
        {
            "inputs/s1_1.fq.gz": ("Cold", "c"),
            "inputs/s1_2.fq.gz": ("Cold", "c"),
            "inputs/s2_1.fq.gz": ("Cold", "c"),
            "inputs/s3_1.fq.gz": ("Cold", "c"),
            "inputs/s5_1.fq.gz": ("Cold", "c"),
        },
    ),
    (
        "delete with allow_delete on a deletable role",
        "deletable_roles: [input]\nrules: [{name: d, role: input, run_states: [failed], days: 30, "
        "action: delete}]",
        True,
        {"inputs/s3_1.fq.gz": ("delete", "d")},
    ),
    (
        "delete with allow_delete but role not deletable",
        "rules: [{name: d, role: input, run_states: [failed], days: 30, action: delete}]",
        True,
        {},
    ),
]


@pytest.mark.parametrize(
    ("rules", "allow_delete", "expected"), [row[1:] for row in TABLE], ids=[row[0] for row in TABLE]
)
def test_rule_table(rules: str, allow_delete: bool, expected: dict[str, tuple[str, str]]) -> None:
    assert planned(rules, allow_delete=allow_delete) == expected


def test_running_run_and_rehydrating_blobs_are_never_touched() -> None:
    rules = (
        "rules: [{name: r, role: input, days: 0, action: Cool}, "
        "{name: o, role: output, since: modified, days: 0, action: Cool}]"
    )
    chosen = planned(rules)
    assert "inputs/s4_1.fq.gz" not in chosen and "outputs/s4.bam" not in chosen
    rehydrating = BlobFacts(
        IN,
        "r_1.fq.gz",
        1,
        "Archive",
        days_ago(9),
        days_ago(9),
        {t.RUN_ID: "1", t.ROLE: "input"},
        archive_status="rehydrate-pending-to-hot",
    )
    plan = make_plan([rehydrating], RUNS, parse_policy(rules, "t"), NOW, PRICES)
    assert plan.decisions == []


def test_outputs_are_tied_through_the_output_base_and_get_tags() -> None:
    plan = make_plan(BLOBS, RUNS, load_policy(), NOW, PRICES)
    updates = {u.blob.name: dict(u.tags) for u in plan.tag_updates}
    assert updates["s2.bam"] == {t.RUN_ID: "2", t.ROLE: "output", t.KIND: "bam"}
    # only the keys to change: the store merges them into the tags as they are when written
    assert t.FETCHED not in updates["s3.bam"] and updates["s3.bam"][t.RUN_ID] == "3"
    assert "s4.bam" not in updates  # run 4 is still running: tagged once it ends
    assert "s1_1.fq.gz" not in updates  # complete already
    assert output_base_of("dir/s1.g.vcf.gz.tbi") == "dir/s1" and output_base_of("x.txt") is None


def test_costs_before_after_and_early_deletion() -> None:
    cool_young = output_blob(
        "y.bam", size=int(30 * GIB), tier="Cool", run="1", modified=10, fetched_days_ago=5
    )
    policy = parse_policy("rules: [{name: a, role: output, days: 0, action: Archive}]", "t")
    plan = make_plan([cool_young], RUNS, policy, NOW, PRICES)
    assert [d.target for d in plan.decisions] == ["Archive"]
    assert plan.cost_before == pytest.approx(30 * 0.0152)
    assert plan.cost_after == pytest.approx(30 * 0.00099)
    # 10 days in Cool out of 30: 20 remaining days of Cool storage are charged
    assert plan.early_deletion == pytest.approx(30 * 0.0152 * 20 / 30)
    assert plan.transition_cost == pytest.approx(0.10 / 10_000)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [{name: a, role: input, days: 1, action: Warm}]", "rules[0] (a).action"),
        ("rules: [{name: a, role: input, days: -1, action: Cool}]", "greater than or equal"),
        (
            "rules: [{name: a, role: untracked, days: 1, action: Cool}]",
            "untracked blobs have no run",
        ),
        ("rules: [{name: a, role: input, kinds: [cram], days: 1, action: Cool}]", "unknown kind"),
        ("rules: [{name: a, role: input, run_states: [active], days: 1, action: Cool}]", "never"),
        ("rules: [{name: a, role: input, wait_for_fetch: true, days: 1, action: Cool}]", "outputs"),
        ("rules: [{name: a, role: input, days: 1, action: Cool, colour: red}]", "unknown key"),
        (
            "rules: [{name: a, role: input, days: 1, action: Cool}, "
            "{name: a, role: output, days: 1, action: Cool}]",
            "unique",
        ),
        ("- just a list", "mapping"),
    ],
)
def test_bad_policies_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_policy(text, "policy.yaml")


def test_blob_tagged_with_two_runs_waits_for_both() -> None:
    blob = BlobFacts(
        IN,
        "shared_1.fq.gz",
        1,
        "Hot",
        days_ago(200),
        days_ago(200),
        {t.RUN_ID: "1 4", t.ROLE: "input"},
    )
    assert make_plan([blob], RUNS, load_policy(), NOW, PRICES).decisions == []
    finished = [*RUNS[:3], RunFacts("4", RunPhase.succeeded, ended=days_ago(8))]
    decisions = make_plan([blob], finished, load_policy(), NOW, PRICES).decisions
    assert [(d.target, d.run_ids) for d in decisions] == [("Cool", ("1", "4"))]
    assert OUT  # the fixture module's containers are the ones the policy examples use


def _held_and_moved(blobs, runs, policy_text: str | None = None, now=NOW):
    policy = load_policy() if policy_text is None else parse_policy(policy_text, "test")
    plan = make_plan(blobs, runs, policy, now, PRICES)
    return dict(plan.held), {d.blob.name: d.target for d in plan.decisions}, plan


def test_an_active_runs_inputs_are_held_though_their_tag_names_an_older_run() -> None:
    from genoflow.model.runs import Run, RunState
    from genoflow.tiering.sources import run_facts

    # The input's tag still names run 1 (ended 100 d ago): run 7 started on it since then.
    reused = input_blob("1", "s1_1.fq.gz")
    active = run_facts(Run("7", RunState.RUNNING, input_container=IN, inputs=("s1_1.fq.gz",)))
    held, moved, _ = _held_and_moved([reused], [*RUNS, active])
    assert moved == {} and held == {"run not finished": 1}
    # without the active run, the same blob is archived: the hold above came from run 7
    assert _held_and_moved([reused], RUNS)[1] == {"s1_1.fq.gz": "Archive"}


def test_a_run_id_unknown_to_the_service_stays_in_the_tag_and_holds() -> None:
    shared = input_blob("1 Z", "s1_1.fq.gz")  # Z: a run of another service on this account
    held, moved, plan = _held_and_moved([shared], RUNS)
    assert moved == {} and held == {"run Z unknown to the service": 1}
    assert plan.tag_updates == []  # rewriting the tag would drop Z and release the blob


def test_two_runs_writing_one_output_base_both_hold_its_outputs() -> None:
    failed_long_ago = input_blob("3", "s9_1.fq.gz", base="s9")
    rerun_running = input_blob("4", "s9_r_1.fq.gz", base="s9")
    bam = output_blob("s9.bam", fetched_days_ago=60)
    policy = "rules: [{name: b, role: output, days: 0, action: Archive}]"
    held, moved, _ = _held_and_moved([failed_long_ago, rerun_running, bam], RUNS, policy)
    assert "s9.bam" not in moved and held["run not finished"] >= 1
    # once the rerun is over too, the BAM moves
    runs = [r if r.id != "4" else RunFacts("4", RunPhase.failed, ended=days_ago(50)) for r in RUNS]
    assert _held_and_moved([failed_long_ago, rerun_running, bam], runs, policy)[1] == {
        "s9.bam": "Archive"
    }


@pytest.mark.parametrize(("changed_days_ago", "archived"), [(3, False), (29, False), (31, True)])
def test_a_rehydrated_blob_stays_online_before_it_is_archived_again(
    changed_days_ago: float, archived: bool
) -> None:
    # Archived by the inputs-to-archive rule once, then rehydrated to Hot by someone.
    blob = input_blob("1", "s1_1.fq.gz")
    blob = BlobFacts(**{**blob.__dict__, "tier_changed": days_ago(changed_days_ago)})
    held, moved, _ = _held_and_moved([blob], RUNS)
    assert moved == ({"s1_1.fq.gz": "Archive"} if archived else {})
    assert held == ({} if archived else {"tier changed < 30 d ago (rehydrated?)": 1})


def test_early_deletion_counts_from_the_last_tier_change() -> None:
    # Created 200 days ago, moved to Cool 10 days ago: 20 days of Cool minimum are left.
    blob = input_blob("1", "s1_1.fq.gz", size=int(100 * GIB), tier="Cool")
    blob = BlobFacts(**{**blob.__dict__, "tier_changed": days_ago(10)})
    _, moved, plan = _held_and_moved(
        [blob], RUNS, "rules: [{name: c, role: input, days: 20, action: Cold}]"
    )
    assert moved == {"s1_1.fq.gz": "Cold"}
    assert plan.early_deletion == pytest.approx(100 * 0.0152 * 20 / 30)


def test_each_run_sharing_inputs_ties_only_its_own_output_base() -> None:
    # Inputs read by run 1 (-of s1, ended 100 d ago) and by run 4 (-of s1b, still running).
    shared = input_blob("1 4", "s1_1.fq.gz")
    shared = BlobFacts(
        **{**shared.__dict__, "tags": {**shared.tags, t.OUTPUT_BASE: f"1={OUT}/s1 4={OUT}/s1b"}}
    )
    first, rerun = output_blob("s1.bam", fetched_days_ago=60), output_blob("s1b.bam")
    policy = "rules: [{name: b, role: output, days: 0, action: Archive}]"
    held, moved, _ = _held_and_moved([shared, first, rerun], RUNS, policy)
    assert moved == {"s1.bam": "Archive"} and held == {"run not finished": 2}


@pytest.mark.parametrize(
    ("runs", "value", "run_id", "expected"),
    [
        ("1 2", "1=out/s1 2=out/s1b", "1", [("out", "s1")]),
        ("1 2", "1=out/s1 2=out/s1b", "2", [("out", "s1b")]),
        ("1 2", "1=out/s1", "3", []),  # run 3 is not in the run tag
        ("1 2", "out/s1", "2", [("out", "s1")]),  # the older form: every run the blob names
        ("1 2", "2=out/a=b", "2", [("out", "a=b")]),
        # qualified by service: only gf-a's run 1 is ours
        ("gf-a:1 gf-b:1", "gf-a:1=out/A/k1/A gf-b:1=other/B", "1", [("out", "A/k1/A")]),
        ("gf-b:1", "gf-b:1=other/B", "1", []),  # another service's run 1 only
        # a bare older word is trusted while no other service used the blob, not after
        ("1", "1=out/s1", "1", [("out", "s1")]),
        ("1 gf-b:2", "1=out/s1 gf-b:2=out/x", "1", []),
    ],
)
def test_output_base_tag_per_run(
    runs: str, value: str, run_id: str, expected: list[tuple[str, str]]
) -> None:
    assert t.output_bases({t.RUN_ID: runs, t.OUTPUT_BASE: value}, "gf-a", run_id) == expected


def _ours(runs: tuple[RunFacts, ...]) -> list[RunFacts]:
    return [RunFacts(**{**run.__dict__, "service": "gf-a"}) for run in runs]


def test_another_services_run_1_is_not_this_services_run_1() -> None:
    """Run 1 of gf-a succeeded long ago; the blob names gf-b's run 1: held, never re-tagged."""
    theirs = input_blob("gf-b:1", "t1_1.fq.gz", base="t1")
    mine = input_blob("gf-a:1", "s1_1.fq.gz")
    policy = "rules: [{name: a, role: input, days: 7, action: Archive}]"
    plan = make_plan([theirs, mine], _ours(RUNS), parse_policy(policy, "test"), NOW, PRICES)
    assert {d.blob.name: d.target for d in plan.decisions} == {"s1_1.fq.gz": "Archive"}
    assert dict(plan.held) == {"run gf-b:1 of another service": 1}
    assert [u.blob.name for u in plan.tag_updates] == []


def test_older_bare_tags_read_as_this_services_runs_and_get_qualified() -> None:
    bare = input_blob("1", "s1_1.fq.gz")
    policy = "rules: [{name: a, role: input, days: 7, action: Archive}]"
    plan = make_plan([bare], _ours(RUNS), parse_policy(policy, "test"), NOW, PRICES)
    assert [d.blob.name for d in plan.decisions] == ["s1_1.fq.gz"]
    assert [dict(u.tags)[t.RUN_ID] for u in plan.tag_updates] == ["gf-a:1"]
    # once both words are there (apply accumulates them), nothing more is written
    both = BlobFacts(**{**bare.__dict__, "tags": {**bare.tags, t.RUN_ID: "1 gf-a:1"}})
    again = make_plan([both], _ours(RUNS), parse_policy(policy, "test"), NOW, PRICES)
    assert again.tag_updates == []


def test_run_folders_tie_each_run_to_its_own_outputs() -> None:
    """The new layout: <sample>/<key8>/<sample>.*; two runs of one sample never share."""
    words = f"gf-a:1={OUT}/s1/aaaa1111/s1 gf-a:4={OUT}/s1/bbbb2222/s1"
    shared = input_blob("gf-a:1 gf-a:4", "s1/s1_1.fq.gz")
    shared = BlobFacts(**{**shared.__dict__, "tags": {**shared.tags, t.OUTPUT_BASE: words}})
    first = output_blob("s1/aaaa1111/s1.bam", fetched_days_ago=60)
    rerun = output_blob("s1/bbbb2222/s1.bam")
    policy = "rules: [{name: b, role: output, days: 0, action: Archive}]"
    plan = make_plan([shared, first, rerun], _ours(RUNS), parse_policy(policy, "test"), NOW, PRICES)
    assert {d.blob.name: d.run_ids for d in plan.decisions} == {"s1/aaaa1111/s1.bam": ("1",)}
    assert dict(plan.held) == {"run not finished": 2}
    assert [dict(u.tags)[t.RUN_ID] for u in plan.tag_updates] == ["gf-a:1"]
