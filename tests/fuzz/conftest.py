"""Fuzz bookkeeping: every case's outcome is tallied and summed up in one line at the end."""

from __future__ import annotations

import resource
from collections import Counter
from dataclasses import dataclass, field

import pytest

_TALLY = pytest.StashKey["Tally"]()


@dataclass
class Tally:
    """Outcomes of the vector-file fuzz cases run in this session."""

    outcomes: Counter[str] = field(default_factory=Counter)
    failed_checks: int = 0
    peak_traced: int = 0
    rss_before_kib: int = 0

    def add(self, outcome: str, clean: bool, peak_traced: int) -> None:
        if not self.outcomes:
            self.rss_before_kib = _max_rss_kib()
        self.outcomes[outcome] += 1
        self.failed_checks += not clean
        self.peak_traced = max(self.peak_traced, peak_traced)

    def summary(self) -> str:
        cases = sum(self.outcomes.values())
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.outcomes.items()))
        growth = (_max_rss_kib() - self.rss_before_kib) / 1024
        return (
            f"vector fuzz: {cases} cases, {self.outcomes['traceback']} tracebacks, "
            f"{self.outcomes['hang']} hangs, {self.failed_checks} failed checks "
            f"({kinds}); peak traced memory per case {self.peak_traced / 2**20:.1f} MiB, "
            f"peak RSS growth {growth:.1f} MiB"
        )


def _max_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@pytest.fixture(scope="session")
def fuzz_tally(pytestconfig: pytest.Config) -> Tally:
    """The session's tally, reported by ``pytest_terminal_summary``."""
    return pytestconfig.stash.setdefault(_TALLY, Tally())


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    tally = config.stash.get(_TALLY, None)
    if tally is not None and tally.outcomes:
        terminalreporter.write_line(tally.summary())
