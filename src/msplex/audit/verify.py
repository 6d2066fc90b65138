"""Checking one tenant's audit chain, and saying which record is wrong and how.

Every record carries its predecessor's hash and a MAC over that hash and its
own facts (``msplex.audit.entry``). Given the records in ``seq`` order and the
chain's head, each fault leaves its own trace:

* altered: a record's MAC fails, yet its successor (or the head) points to it;
* inserted: a record nothing points to, and not the head (forged: its MAC
  fails; a copy of another record: its hash is a duplicate);
* removed: a record points to a hash no record has (a seq gap names the
  missing ones), or the head names a record that is gone; the head's own MAC
  stops the tail being cut and the head set back to an earlier record;
* reordered: following the links gives another order than ``seq`` does; the
  records outside the longest run that agrees with ``seq`` are out of place.

Verification reads the whole chain (``TenantAudit.chain``) and is linear in it.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from msplex.audit.entry import GENESIS
from msplex.store.audit import ChainLink, Head

__all__ = ["Finding", "Verdict", "verify_chain"]

FindingKind = Literal["altered", "inserted", "removed", "reordered", "head"]


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    seq: int | None
    """The record concerned (for ``removed``: the first missing seq, or the record after the gap)."""
    message: str


@dataclass(frozen=True, slots=True)
class Verdict:
    records: int
    head_seq: int | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def verify_chain(head: Head | None, links: Sequence[ChainLink]) -> Verdict:
    findings: list[Finding] = []
    by_hash: dict[str, int] = {}
    copies: set[int] = set()
    for i, link in enumerate(links):
        if link.hash in by_hash:
            copies.add(i if link.intact or not links[by_hash[link.hash]].intact else by_hash[link.hash])
        else:
            by_hash[link.hash] = i
    referenced = {link.prev_hash for link in links}
    if head is not None:
        referenced.add(head.hash)
    inserted: set[int] = set(copies)
    for i, link in enumerate(links):
        if i in copies:
            continue
        if link.hash not in referenced and not link.intact:
            inserted.add(i)
        elif not link.intact:
            findings.append(Finding("altered", link.seq, f"record seq {link.seq} was altered (its MAC does not match)"))
    for i in sorted(inserted):
        seq = links[i].seq
        findings.append(Finding("inserted", seq, f"record seq {seq} was inserted (no record of the chain leads to it)"))
    kept = [i for i in range(len(links)) if i not in inserted]
    findings += _removed(links, kept, by_hash, inserted)
    findings += _reordered(links, kept, by_hash, inserted)
    findings += _head(head, links, by_hash)
    findings.sort(key=lambda f: (f.seq if f.seq is not None else -1, f.kind))
    return Verdict(len(links), head.seq if head is not None else None, findings)


def _removed(links: Sequence[ChainLink], kept: list[int], by_hash: dict[str, int], inserted: set[int]) -> list[Finding]:
    found = []
    for n, i in enumerate(kept):
        link = links[i]
        if link.prev_hash == GENESIS or not link.intact:
            continue
        before = by_hash.get(link.prev_hash)
        if before is not None and before not in inserted:
            continue
        previous = links[kept[n - 1]].seq if n else 0
        missing = (
            f"seq {previous + 1}" if link.seq - previous == 2 else
            f"seq {previous + 1} to {link.seq - 1}" if link.seq - previous > 2 else
            f"a record between seq {previous} and seq {link.seq}"
        )  # fmt: skip
        first = previous + 1 if link.seq - previous >= 2 else link.seq
        found.append(Finding("removed", first, f"{missing} removed (record seq {link.seq} points to a missing one)"))
    return found


def _reordered(
    links: Sequence[ChainLink], kept: list[int], by_hash: dict[str, int], inserted: set[int]
) -> list[Finding]:
    """Follow the links from each chain start and compare that order with ``seq`` order."""
    successors: dict[str, list[int]] = {}
    for i in kept:
        successors.setdefault(links[i].prev_hash, []).append(i)
    starts = [i for i in kept if by_hash.get(links[i].prev_hash) in (None, *inserted)]
    order: list[int] = []
    seen: set[int] = set()
    for start in starts:
        current: int | None = start
        while current is not None and current not in seen:
            seen.add(current)
            order.append(current)
            nxt = [j for j in successors.get(links[current].hash, []) if j not in seen]
            current = min(nxt) if nxt else None
    order += [i for i in kept if i not in seen]
    in_place = _longest_increasing(order)
    found = []
    for i in order:
        if i in in_place:
            continue
        link = links[i]
        before = by_hash.get(link.prev_hash)
        after = f"after seq {links[before].seq}" if before is not None else "at the start"
        found.append(
            Finding("reordered", link.seq, f"record seq {link.seq} is out of order (its link puts it {after})")
        )
    return found


def _longest_increasing(order: list[int]) -> set[int]:
    """The members of one longest strictly increasing subsequence of ``order``."""
    tails: list[int] = []
    tail_at: list[int] = []
    parent: list[int] = [-1] * len(order)
    for n, value in enumerate(order):
        k = bisect.bisect_left(tails, value)
        if k == len(tails):
            tails.append(value)
            tail_at.append(n)
        else:
            tails[k] = value
            tail_at[k] = n
        parent[n] = tail_at[k - 1] if k else -1
    chosen: set[int] = set()
    n = tail_at[-1] if tail_at else -1
    while n >= 0:
        chosen.add(order[n])
        n = parent[n]
    return chosen


def _head(head: Head | None, links: Sequence[ChainLink], by_hash: dict[str, int]) -> list[Finding]:
    if head is None:
        if links:
            return [Finding("head", None, "the chain's head is missing while records exist (it was removed)")]
        return []
    seq, digest = head.seq, head.hash
    if not head.intact:
        return [
            Finding(
                "head",
                seq,
                f"the chain's head (seq {seq}) was altered (its MAC does not match): records after "
                "it may have been removed",
            )
        ]
    if digest in by_hash:
        return []
    last = links[-1].seq if links else 0
    if last < seq:
        gone = f"seq {last + 1}" if seq == last + 1 else f"seq {last + 1} to {seq}"
        return [Finding("removed", seq, f"{gone} removed (the chain's head is seq {seq})")]
    return [Finding("head", seq, f"the chain's head (seq {seq}) names no record of the chain")]
