"""Export the age/prefix part of a tiering policy as an Azure lifecycle-management policy.

Azure applies such a policy about once a day and sees only age, name prefix and index tags.
Rules that depend on what only genoflow knows (a run's state, whether outputs were fetched) are
left out and listed as such. What is exported cannot check that a blob's run has ended, so it
is listed as approximated, and it is limited to tier moves (which a rehydration undoes): delete
rules are never exported, since Azure would delete inputs of runs still going. Days round up,
and Archive waits ``rearchive_after_days`` after the last tier change as genoflow does.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from genoflow.model import tags as tagnames
from genoflow.tiering.facts import DELETE
from genoflow.tiering.policy import TERMINAL_STATES, Policy, Rule, Since

_ACTIONS = {
    "Cool": "tierToCool",
    "Cold": "tierToCold",
    "Archive": "tierToArchive",
    DELETE: "delete",
}
_CONDITIONS = {
    Since.modified: "daysAfterModificationGreaterThan",
    Since.run_end: "daysAfterModificationGreaterThan",
    Since.created: "daysAfterCreationGreaterThan",
}
MAX_RULES = 100


@dataclass
class LifecycleExport:
    policy: dict[str, Any]
    not_expressed: list[tuple[str, str]] = field(default_factory=list)  # (rule, why)
    approximated: list[tuple[str, str]] = field(default_factory=list)  # (rule, what)


def lifecycle_policy(policy: Policy, containers: dict[str, str]) -> LifecycleExport:
    """``containers`` maps a role (input, output) to the container its blobs live in."""
    rules: list[dict[str, Any]] = []
    export = LifecycleExport({"rules": rules})
    for rule in policy.rules:
        why_not = _inexpressible(rule, policy)
        if why_not:
            export.not_expressed.append((rule.name, why_not))
            continue
        rules.extend(_azure_rules(rule, containers, policy.rearchive_after_days))
        note = _note(rule)
        if note:
            export.approximated.append((rule.name, note))
    _unique_names(rules)
    if len(rules) > MAX_RULES:
        export.not_expressed.append(("*", f"{len(rules)} rules exceed Azure's {MAX_RULES}"))
        del rules[MAX_RULES:]
    return export


def _inexpressible(rule: Rule, policy: Policy) -> str | None:
    if rule.since is Since.fetched or rule.wait_for_fetch:
        return "waits for the outputs to be fetched, which Azure cannot see"
    if rule.since is Since.run_end and rule.role != "output":
        return "counts days since the run ended; an input's modification time is earlier"
    if rule.role != "untracked" and set(rule.run_states) != set(TERMINAL_STATES):
        states = ", ".join(state.value for state in rule.run_states)
        return f"applies only to {states} runs; Azure does not know run states"
    if rule.action == DELETE:
        return (
            "deletes: Azure cannot check that a blob's run has ended, so deletes are left to "
            "'genoflow tier apply --allow-delete'"
        )
    return None


def _note(rule: Rule) -> str | None:
    """What is approximated when a rule is exported."""
    notes = []
    if rule.since is Since.run_end:
        notes.append("days since the run ended read as days since the output was written")
    if rule.role != "untracked":
        notes.append(f"selects by the {tagnames.ROLE} tag and cannot check that the run ended")
    else:
        notes.append(
            "Azure cannot tell untracked blobs apart: applies to every blob under the prefix"
        )
    return "; ".join(notes) or None


def _azure_rules(
    rule: Rule, containers: dict[str, str], rearchive_after_days: float
) -> list[dict[str, Any]]:
    container = rule.container or containers.get(rule.role)
    prefixes = [f"{container}/{rule.prefix}"] if container else [rule.prefix] if rule.prefix else []
    kinds: tuple[str | None, ...] = rule.kinds or (None,)
    made = []
    for kind in kinds:
        match = [{"name": key, "op": "==", "value": value} for key, value in rule.tags.items()]
        if rule.role != "untracked":
            match.append({"name": tagnames.ROLE, "op": "==", "value": rule.role})
        if kind is not None:
            match.append({"name": tagnames.KIND, "op": "==", "value": kind})
        filters: dict[str, Any] = {"blobTypes": ["blockBlob"]}
        if prefixes:
            filters["prefixMatch"] = prefixes
        if match:
            filters["blobIndexMatch"] = match
        # Azure's "greater than N days": rounding up never acts earlier than the policy.
        condition: dict[str, int] = {_CONDITIONS[rule.since]: math.ceil(rule.days)}
        if rule.action == "Archive":
            condition["daysAfterLastTierChangeGreaterThan"] = math.ceil(rearchive_after_days)
        action = {_ACTIONS[rule.action]: condition}
        name = _azure_name(rule.name + (f"-{kind}" if kind else ""))
        made.append(
            {
                "name": name,
                "enabled": True,
                "type": "Lifecycle",
                "definition": {"filters": filters, "actions": {"baseBlob": action}},
            }
        )
    return made


def _unique_names(rules: list[dict[str, Any]]) -> None:
    """Names that collapsed to the same letters and digits get a number (Azure rejects twins)."""
    seen: set[str] = set()
    for rule in rules:
        name, number = rule["name"], 2
        while name in seen:
            name, number = f"{rule['name'][:250]}{number}", number + 1
        rule["name"] = name
        seen.add(name)


def _azure_name(name: str) -> str:
    """Lifecycle rule names are letters and digits only (at most 256 characters)."""
    return re.sub(r"[^A-Za-z0-9]", "", name)[:256] or "genoflowrule"
