"""CPU time and resident memory of a process tree, read from /proc (Linux only).

A target's cost is the sum over its root process and all descendants, minus the subtrees that
belong to something else (the echo upstream, when a gateway spawns it as a stdio child): the
`exclude` predicate sees each process's command line and prunes that process with its subtree.
Processes that exit between two snapshots lose their CPU time from the sum, so snapshots are taken
while the tree is steady (after start-up, before shutdown).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TreeSample", "cmdline", "cpu_seconds", "descendants", "sample_tree", "system_busy_seconds"]

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_PROC = Path("/proc")


@dataclass(frozen=True)
class TreeSample:
    """One snapshot: CPU seconds (user+system) and RSS bytes summed over the measured pids."""

    pids: tuple[int, ...]
    cpu_s: float
    rss_bytes: int
    cpus: tuple[int, ...]  # the CPU each pid last ran on, for "what ran where"


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after its closing paren.
    return raw[raw.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds (0.0 if it has gone)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def cmdline(pid: int) -> str:
    try:
        return (_PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is None:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def descendants(roots: Iterable[int], exclude: Callable[[str], bool] | None = None) -> list[int]:
    """The roots and every descendant, pruning any process (and subtree) whose cmdline `exclude`s."""
    children = _children_map()
    out: list[int] = []
    stack = list(roots)
    while stack:
        pid = stack.pop()
        if exclude is not None and exclude(cmdline(pid)):
            continue
        out.append(pid)
        stack.extend(children.get(pid, ()))
    return sorted(set(out))


def sample_tree(roots: Iterable[int], exclude: Callable[[str], bool] | None = None) -> TreeSample:
    pids = descendants(roots, exclude)
    cpu = 0.0
    rss = 0
    cpus: list[int] = []
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is None:
            continue
        cpu += (int(fields[11]) + int(fields[12])) / _CLK_TCK
        rss += int(fields[21]) * _PAGE
        cpus.append(int(fields[36]))
    return TreeSample(pids=tuple(pids), cpu_s=cpu, rss_bytes=rss, cpus=tuple(cpus))


def system_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores; idle and iowait excluded)."""
    fields = [int(x) for x in (_PROC / "stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / _CLK_TCK
