"""Reading one fuzz case and classifying what happened; the tally of a whole run."""

from __future__ import annotations

import resource
import signal
import traceback
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from surgsteer_cli import vector_file
from surgsteer_cli.errors import ModelMismatchError, VectorFileError
from surgsteer_cli.model_spec import ModelSpec

TIMEOUT_S = 5.0


class Hang(BaseException):
    """The per-case time limit ran out (a BaseException, so that no ``except Exception`` in
    the code under test can mistake it for a parse error)."""


@dataclass
class Result:
    """``outcome``: error, mismatch, warning, valid, traceback or hang."""

    outcome: str
    message: str
    peak_traced: int


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise Hang in the main thread if the block runs longer than ``seconds``."""

    def expire(signum: int, frame: object) -> None:
        raise Hang(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def read_and_check(path: Path, model: ModelSpec) -> Result:
    """Read ``path`` as a vector for ``model`` under a time limit and tracemalloc."""
    tracemalloc.start()
    try:
        with time_limit(TIMEOUT_S):
            vector = vector_file.read(path)
            vector.check_compatible(model)
        outcome, message = ("warning" if vector.warnings else "valid"), "; ".join(vector.warnings)
    except ModelMismatchError as exc:
        outcome, message = "mismatch", str(exc)
    except VectorFileError as exc:
        outcome, message = "error", str(exc)
    except Hang as exc:
        outcome, message = "hang", str(exc)
    except Exception:
        outcome, message = "traceback", traceback.format_exc()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return Result(outcome, message, peak)


@dataclass
class Tally:
    """Outcomes of the cases run in one session, summed up in one line."""

    outcomes: Counter[str] = field(default_factory=Counter)
    failed_checks: int = 0
    peak_traced: int = 0
    rss_first_kib: int = 0
    rss_last_kib: int = 0

    def add(self, result: Result, clean: bool) -> None:
        """Count one case (``clean``: it passed every check); note the process's peak RSS."""
        self.rss_last_kib = _max_rss_kib()
        if not self.outcomes:
            self.rss_first_kib = self.rss_last_kib
        self.outcomes[result.outcome] += 1
        self.failed_checks += not clean
        self.peak_traced = max(self.peak_traced, result.peak_traced)

    def summary(self) -> str:
        cases = sum(self.outcomes.values())
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.outcomes.items()))
        growth = (self.rss_last_kib - self.rss_first_kib) / 1024
        return (
            f"vector fuzz: {cases} cases, {self.outcomes['traceback']} tracebacks, "
            f"{self.outcomes['hang']} hangs, {self.failed_checks} failed checks ({kinds}); "
            f"peak traced memory per case {self.peak_traced / 2**20:.1f} MiB, "
            f"peak RSS growth {growth:.1f} MiB"
        )


def _max_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
