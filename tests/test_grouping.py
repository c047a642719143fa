"""Consecutive groups under a budget: the residual streams of streaming, the logits of
``parallel``."""

from surgsteer_cli.grouping import within_budget


def test_groups_are_consecutive_within_budget_and_never_empty() -> None:
    assert list(within_budget([3, 2, 6, 1, 1], 5)) == [[0, 1], [2], [3, 4]]
    assert list(within_budget([], 5)) == []
