"""Variant classes of one REF/ALT allele pair, by htslib's rules (what ``bcftools`` counts).

Common leading, then trailing, bases are trimmed (case-insensitively); what is left decides:
one base each: SNV; equal lengths above one: MNV; only ALT bases left: insertion; only REF
bases left: deletion; anything else, symbolic alleles (``<DEL>``) and breakends: other.
Reference-only alleles (``<*>``, ``<NON_REF>``, ``<X>``, ``X``, ``.``, ALT = REF) and the
spanning-deletion allele ``*`` carry no variant: class None.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

REFERENCE_ONLY = frozenset({"<*>", "<NON_REF>", "<X>", "X", "."})


class AlleleClass(NamedTuple):
    name: str | None  # one of schema.CLASSES, or None: no variant
    ref: str  # the trimmed REF (one base for an SNV)
    alt: str  # the trimmed ALT


@lru_cache(maxsize=65536)
def classify(ref: str, alt: str) -> AlleleClass:
    """The class of ALT ``alt`` against REF ``ref`` (pairs repeat a lot: cached)."""
    if alt in REFERENCE_ONLY or alt == "*" or alt == ref:
        return AlleleClass(None, ref, alt)
    if alt.startswith("<") or "[" in alt or "]" in alt:
        return AlleleClass("other", ref, alt)
    upper_ref, upper_alt = ref.upper(), alt.upper()
    prefix = _common_prefix(upper_ref, upper_alt)
    tail_ref, tail_alt = upper_ref[prefix:], upper_alt[prefix:]
    if not tail_ref and not tail_alt:
        return AlleleClass(None, ref, alt)
    suffix = _common_prefix(tail_ref[::-1], tail_alt[::-1])
    core_ref = tail_ref[: len(tail_ref) - suffix]
    core_alt = tail_alt[: len(tail_alt) - suffix]
    return AlleleClass(_by_length(core_ref, core_alt), core_ref, core_alt)


def _by_length(ref: str, alt: str) -> str:
    if not ref:
        return "insertion"
    if not alt:
        return "deletion"
    if len(ref) == len(alt):
        return "SNV" if len(ref) == 1 else "MNV"
    return "other"


def _common_prefix(left: str, right: str) -> int:
    size = min(len(left), len(right))
    index = 0
    while index < size and left[index] == right[index]:
        index += 1
    return index


TRANSITIONS = frozenset({("A", "G"), ("G", "A"), ("C", "T"), ("T", "C")})
