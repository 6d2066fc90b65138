"""Proposing customers' vendor ids by name (``msplex customer discover``): ambiguity refused, never guessed.

Names are compared after normalisation (case, accents, punctuation, and legal suffixes such as
"Ltd", "Inc", "GmbH" dropped), against the customer's display name and its slug. A customer is
proposed a vendor id only when exactly one vendor record matches it and that record matches no
other customer; everything else is reported with the reason, for a person to map by hand.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from msplex.connectors.framework.spec import Company

__all__ = ["Proposal", "normalise", "propose"]

_SUFFIXES = frozenset(
    (
        "ltd",
        "limited",
        "inc",
        "incorporated",
        "llc",
        "llp",
        "plc",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "sarl",
        "bv",
        "nv",
        "pty",
        "co",
        "corp",
        "corporation",
        "company",
        "lp",
    )
)

Verdict = Literal["match", "mapped", "ambiguous", "none", "contested"]


@dataclass(frozen=True, slots=True)
class Proposal:
    customer: str
    verdict: Verdict
    vendor_id: str | None = None
    candidates: tuple[Company, ...] = ()

    def describe(self) -> str:
        names = ", ".join(f"{c.name} ({c.id})" for c in self.candidates)
        return {
            "match": f"-> {self.vendor_id} ({names})",
            "mapped": f"already mapped to {self.vendor_id}",
            "ambiguous": f"ambiguous, not mapped: {names}",
            "contested": f"not mapped: {names} also matches another customer",
            "none": "no matching record",
        }[self.verdict]


def normalise(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    words = [w for w in re.split(r"[^a-z0-9]+", text) if w]
    while len(words) > 1 and words[-1] in _SUFFIXES:
        words.pop()
    return " ".join(words)


def propose(
    customers: Sequence[tuple[str, str]], companies: Sequence[Company], mapped: Mapping[str, str]
) -> list[Proposal]:
    """``customers`` as ``(slug, display name)``; ``mapped``: slug -> vendor id already set."""
    index: dict[str, list[Company]] = {}
    for company in companies:
        index.setdefault(normalise(company.name), []).append(company)
    found: dict[str, tuple[Company, ...]] = {}
    for slug, name in customers:
        keys = {normalise(name), normalise(slug.replace("-", " "))} - {""}
        unique = {c.id: c for key in keys for c in index.get(key, [])}
        found[slug] = tuple(sorted(unique.values(), key=lambda c: c.id))
    claims: dict[str, int] = {}
    for slug, hits in found.items():
        if slug not in mapped and len(hits) == 1:
            claims[hits[0].id] = claims.get(hits[0].id, 0) + 1
    taken = set(mapped.values())
    out: list[Proposal] = []
    for slug, _ in customers:
        hits = found[slug]
        if slug in mapped:
            out.append(Proposal(slug, "mapped", mapped[slug]))
        elif not hits:
            out.append(Proposal(slug, "none"))
        elif len(hits) > 1:
            out.append(Proposal(slug, "ambiguous", None, hits))
        elif claims[hits[0].id] > 1 or hits[0].id in taken:
            out.append(Proposal(slug, "contested", None, hits))
        else:
            out.append(Proposal(slug, "match", hits[0].id, hits))
    return out
