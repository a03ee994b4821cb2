"""The policy engine, pure: blobs + runs + policy + now -> a plan. No I/O, no clock of its own.

Safety rules that no policy can switch off:

* a blob tied to a run that is not terminal, or to a run the service does not know, is held;
* a blob is never moved to a warmer tier, never re-archived, never touched while rehydrating;
* ``delete`` happens only for roles the policy lists as deletable and only with allow_delete;
* the variant lake's table files (role ``lake``) are never archived nor deleted: every query
  reads them (a policy may still cool them); they are never taken for untracked blobs.

When several rules fire for one blob, the coldest action wins (so "Cool after 7 days" and
"Archive after 90 days" form a ladder).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from genoflow.model import tags as tagnames
from genoflow.model.outputs import OUTPUT_SUFFIXES as OUTPUT_SUFFIXES  # re-exported
from genoflow.model.outputs import output_base_of as output_base_of
from genoflow.tiering.facts import (
    ARCHIVE,
    DELETE,
    LAKE_TAG,
    BlobFacts,
    BlobRef,
    RunFacts,
    RunPhase,
    days_between,
    format_time,
    in_lake,
    tier_rank,
)
from genoflow.tiering.policy import Policy, Rule, Since
from genoflow.tiering.prices import PriceTable
from genoflow.units import parse_time  # the tags' times (the fetched and in-lake tags)


@dataclass(frozen=True)
class Tie:
    """How a blob is tied to runs: from its index tags, or from the runs' own input/output lists."""

    role: str  # input, output, untracked or lake
    kind: str | None
    runs: tuple[RunFacts, ...] = ()
    unknown_run_ids: tuple[str, ...] = ()

    @property
    def ended(self) -> datetime | None:
        ends = [run.ended for run in self.runs if run.ended is not None]
        return max(ends) if ends else None


@dataclass(frozen=True)
class Decision:
    blob: BlobFacts
    target: str  # a tier name, or "delete"
    rule: str
    reason: str
    run_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class TagUpdate:
    """Index tags that tie a blob to its runs, to be written because the blob lacks them."""

    blob: BlobFacts
    tags: Mapping[str, str]


@dataclass
class Plan:
    decisions: list[Decision] = field(default_factory=list)
    held: Counter[str] = field(default_factory=Counter)
    tag_updates: list[TagUpdate] = field(default_factory=list)
    scanned_blobs: int = 0
    scanned_bytes: int = 0
    cost_before: float = 0.0
    cost_after: float = 0.0
    early_deletion: float = 0.0
    transition_cost: float = 0.0

    @property
    def bytes_changed(self) -> int:
        return sum(decision.blob.size for decision in self.decisions)


class RunIndex:
    """One service's runs by id, and the blobs each run names, for tying untagged blobs to
    their runs. Tags naming another service's run tie the blob to a run unknown here."""

    def __init__(self, runs: Iterable[RunFacts]) -> None:
        runs = list(runs)
        self.service = next((run.service for run in runs if run.service), None)
        self.by_id: dict[str, RunFacts] = {}
        self.by_blob: dict[BlobRef, list[tuple[str, RunFacts]]] = {}
        self.bases: dict[BlobRef, dict[str, RunFacts]] = {}
        for run in runs:
            self.by_id[run.id] = run
            for ref in run.inputs:
                self.by_blob.setdefault(ref, []).append((tagnames.ROLE_INPUT, run))
            for ref in run.outputs:
                self.by_blob.setdefault(ref, []).append((tagnames.ROLE_OUTPUT, run))
            for ref in run.output_bases:
                self.bases.setdefault(ref, {})[run.id] = run

    def learn_output_bases(self, blobs: Iterable[BlobFacts]) -> None:
        """Inputs tagged at submit name their run's output base: tie those outputs to the run.

        Two runs writing to one base (a rerun of the sample) both hold its outputs."""
        for blob in blobs:
            for run_id in tagnames.runs_named(blob.tags, self.service)[0]:
                if run_id not in self.by_id:
                    continue
                for container, name in tagnames.output_bases(blob.tags, self.service, run_id):
                    self.bases.setdefault(BlobRef(container, name), {})[run_id] = self.by_id[run_id]

    def named_by(self, blob: BlobFacts) -> list[tuple[str, RunFacts]]:
        found = list(self.by_blob.get(blob.ref, ()))
        base = output_base_of(blob.name)
        for run in self.bases.get(BlobRef(blob.container, base), {}).values() if base else ():
            if (tagnames.ROLE_OUTPUT, run) not in found:
                found.append((tagnames.ROLE_OUTPUT, run))
        return found

    def tie(self, blob: BlobFacts) -> Tie:
        tagged_ids, unknown = tagnames.runs_named(blob.tags, self.service)
        named = self.named_by(blob)
        role = blob.tags.get(tagnames.ROLE) or (named[0][0] if named else "untracked")
        runs = {run.id: run for _, run in named}
        for run_id in tagged_ids:
            if run_id in self.by_id:
                runs.setdefault(run_id, self.by_id[run_id])
            else:
                unknown.append(run_id)
        if role not in (tagnames.ROLE_INPUT, tagnames.ROLE_OUTPUT) and (runs or unknown):
            role = (
                tagnames.ROLE_OUTPUT
                if any(r == tagnames.ROLE_OUTPUT for r, _ in named)
                else tagnames.ROLE_INPUT
            )
        kind = blob.tags.get(tagnames.KIND) or tagnames.kind_of(blob.name)
        return Tie(role, kind, tuple(runs.values()), tuple(unknown))


def make_plan(
    blobs: Iterable[BlobFacts],
    runs: Iterable[RunFacts],
    policy: Policy,
    now: datetime,
    prices: PriceTable,
    *,
    allow_delete: bool = False,
    lake_container: str | None = None,
) -> Plan:
    """Every change ``policy`` asks for at time ``now``, with its cost effect. Changes nothing.

    ``lake_container``: the container of the variant lake, whose table files are role lake."""
    blobs = list(blobs)
    index = RunIndex(runs)
    index.learn_output_bases(blobs)
    plan = Plan()
    for blob in blobs:
        tie = tie_of(index, blob, lake_container)
        plan.scanned_blobs += 1
        plan.scanned_bytes += blob.size
        outcome = decide(blob, tie, policy, now, allow_delete)
        update = missing_tags(blob, tie)
        if update is not None:
            plan.tag_updates.append(update)
        if isinstance(outcome, Decision):
            plan.decisions.append(outcome)
        elif outcome is not None:
            plan.held[outcome] += 1
        _add_costs(plan, blob, outcome if isinstance(outcome, Decision) else None, now, prices)
    return plan


def tie_of(index: RunIndex, blob: BlobFacts, lake_container: str | None) -> Tie:
    if in_lake(blob.container, blob.name, lake_container):
        return Tie("lake", None)
    return index.tie(blob)


def _add_costs(
    plan: Plan, blob: BlobFacts, decision: Decision | None, now: datetime, prices: PriceTable
) -> None:
    current = blob.current_tier
    plan.cost_before += prices.storage_month(blob.size, current)
    if decision is None:
        plan.cost_after += prices.storage_month(blob.size, current)
        return
    if decision.target != DELETE:
        plan.cost_after += prices.storage_month(blob.size, decision.target)
        plan.transition_cost += prices.transition(1, decision.target)
    since = blob.tier_changed or blob.created or blob.last_modified
    held_days = days_between(since, now) if since is not None else None
    plan.early_deletion += prices.early_deletion(blob.size, current, held_days)


def decide(
    blob: BlobFacts, tie: Tie, policy: Policy, now: datetime, allow_delete: bool
) -> Decision | str | None:
    """A Decision, the reason the blob is held back (str), or None when nothing applies."""
    if tie.unknown_run_ids:
        word = tie.unknown_run_ids[0]
        if ":" in word:  # qualified by another service's identity: that service decides
            return f"run {word} of another service"
        return f"run {word} unknown to the service"
    if any(run.phase is RunPhase.active for run in tie.runs):
        return "run not finished"
    fired: list[tuple[Rule, str]] = []
    holds: list[str] = []
    for rule in policy.rules:
        if not selects(rule, blob, tie):
            continue
        verdict = _fires(rule, blob, tie, now)
        if isinstance(verdict, tuple):
            fired.append(verdict)
        elif verdict:
            holds.append(verdict)
    return _choose(blob, tie, policy, fired, holds, allow_delete, now)


def _choose(
    blob: BlobFacts,
    tie: Tie,
    policy: Policy,
    fired: list[tuple[Rule, str]],
    holds: list[str],
    allow_delete: bool,
    now: datetime,
) -> Decision | str | None:
    if tie.role == "lake" and any(rule.action in (ARCHIVE, DELETE) for rule, _ in fired):
        holds.append("lake table files stay online: queries read them")
        fired = [(rule, why) for rule, why in fired if rule.action not in (ARCHIVE, DELETE)]
    if not allow_delete or tie.role not in policy.deletable_roles:
        if any(rule.action == DELETE for rule, _ in fired):
            holds.append("delete needs --allow-delete and a deletable role")
        fired = [(rule, why) for rule, why in fired if rule.action != DELETE]
    if not fired:
        return holds[0] if holds else None
    rule, why = max(fired, key=lambda item: tier_rank(item[0].action))
    if blob.archive_status:
        return "rehydration pending"
    if rule.action != DELETE and tier_rank(rule.action) <= tier_rank(blob.current_tier):
        return None  # already at or below the target tier: never warmer, never re-archived
    if rule.action == ARCHIVE and blob.tier_changed is not None:
        since_change = days_between(blob.tier_changed, now)
        if since_change < policy.rearchive_after_days:
            return f"tier changed < {policy.rearchive_after_days:g} d ago (rehydrated?)"
    return Decision(blob, rule.action, rule.name, why, tuple(run.id for run in tie.runs))


def selects(rule: Rule, blob: BlobFacts, tie: Tie) -> bool:
    """Whether the rule's selection (not its age condition) covers this blob."""
    if rule.role != tie.role:
        return False
    if rule.kinds and tie.kind not in rule.kinds:
        return False
    if rule.container is not None and rule.container != blob.container:
        return False
    if not blob.name.startswith(rule.prefix):
        return False
    if any(blob.tags.get(key) != value for key, value in rule.tags.items()):
        return False
    if rule.role in ("untracked", "lake"):
        return True
    return any(run.phase in rule.run_states for run in tie.runs)


def _fires(rule: Rule, blob: BlobFacts, tie: Tie, now: datetime) -> tuple[Rule, str] | str | None:
    """(rule, reason) when its age condition is met, a hold reason, or None when not yet due."""
    fetched = parse_time(blob.tags.get(tagnames.FETCHED))
    if rule.wait_for_fetch and fetched is None:
        return "outputs not fetched yet"
    reference = _reference_time(rule.since, blob, tie, fetched)
    if reference is None:
        return (
            "not in the lake yet"
            if rule.since is Since.lake
            else f"no {rule.since.value} time known"
        )
    age = days_between(reference, now)
    if age < rule.days:
        return None
    runs = ", ".join(f"{run.id} ({run.phase.value})" for run in tie.runs)
    subject = f"{tie.role} {tie.kind or 'blob'}" + (f" of run {runs}" if runs else "")
    label = rule.since.value.replace("_", " ")
    return rule, f"{subject}; {label} {format_time(reference)}, {age:.0f} d >= {rule.days:g} d"


def _reference_time(
    since: Since, blob: BlobFacts, tie: Tie, fetched: datetime | None
) -> datetime | None:
    if since is Since.run_end:
        return tie.ended
    if since is Since.fetched:
        return fetched
    if since is Since.lake:
        return parse_time(blob.tags.get(LAKE_TAG))
    if since is Since.created:
        return blob.created or blob.last_modified
    return blob.last_modified


def missing_tags(blob: BlobFacts, tie: Tie) -> TagUpdate | None:
    """The index tags a blob tied to terminal runs should carry and does not (None: up to date).

    The server writes outputs through a container SAS without tag permission, so outputs learn
    their run from the service's run records and get tagged here (or by 'genoflow fetch').
    """
    if not tie.runs or tie.unknown_run_ids or any(not run.phase.terminal for run in tie.runs):
        return None  # an unknown id (another service's run) must stay in the tag: it holds
    wanted = {
        tagnames.RUN_ID: " ".join(sorted(run.word for run in tie.runs)),
        tagnames.ROLE: tie.role,
    }
    # Run words are added to the tag (apply accumulates them): older bare words stay.
    have_runs = set(blob.tags.get(tagnames.RUN_ID, "").split())
    if blob.tags.get(tagnames.ROLE) == tie.role and have_runs >= {r.word for r in tie.runs}:
        return None  # the kind is derivable from the name: not worth a write on its own
    if tie.kind:
        wanted[tagnames.KIND] = tie.kind
    # Only the keys to change: set_tags merges them into the tags as they are when written, so
    # a fetch time or run id written since the listing is not overwritten.
    return TagUpdate(blob, wanted)
