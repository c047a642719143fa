"""Consecutive groups of work items under a size budget (tokens, bytes)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence


def within_budget(sizes: Sequence[int], budget: int) -> Iterator[list[int]]:
    """Indices of consecutive items whose ``sizes`` add up to at most ``budget``, in order;
    every group holds one item at least, so an item larger than the budget stands alone."""
    group: list[int] = []
    used = 0
    for index, size in enumerate(sizes):
        if group and used + size > budget:
            yield group
            group, used = [], 0
        group.append(index)
        used += size
    if group:
        yield group
