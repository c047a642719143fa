"""Fuzz bookkeeping: every case's outcome is tallied and summed up at the end of the run."""

from __future__ import annotations

import pytest

from tests.fuzz.outcomes import Tally

_TALLY = pytest.StashKey[Tally]()


@pytest.fixture(scope="session")
def fuzz_tally(pytestconfig: pytest.Config) -> Tally:
    """The session's tally, reported by ``pytest_terminal_summary``."""
    return pytestconfig.stash.setdefault(_TALLY, Tally())


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    tally = config.stash.get(_TALLY, None)
    if tally is not None and tally.outcomes:
        terminalreporter.write_line(tally.summary())
