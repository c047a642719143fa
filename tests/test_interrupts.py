"""Stopping ``eval`` and ``quantize`` with SIGINT or SIGKILL, then running them again, gives
the results of an uninterrupted run: nothing lost, duplicated, changed, half-written or left
behind. A few runs of ``benchmarks/interrupt_runs.py``'s harness on the real model; the full
campaign (20 runs per command, ``extract`` too) is ``python benchmarks/interrupt_runs.py``."""

from __future__ import annotations

import random
import signal
from pathlib import Path

from benchmarks.interrupt_runs import JOBS, Tally, eval_job, run_job

WINDOW = (0.2, 0.8)  # of the reference's duration: past start-up, before the end


def assert_clean(tally: Tally, name: str) -> None:
    assert tally.clean, "\n".join([tally.line(name), *tally.problems])
    assert sum(tally.stops.values()) >= 1, tally.line(name)


def test_eval_resumes_after_sigint_and_sigkill(tmp_path: Path) -> None:
    tally = run_job(eval_job(limit=1), tmp_path, runs=2, rng=random.Random(0), window=WINDOW)
    assert_clean(tally, "eval")


def test_quantize_after_sigkill(tmp_path: Path) -> None:
    signals = (signal.SIGKILL,)
    tally = run_job(JOBS["quantize"], tmp_path, 1, random.Random(0), signals, WINDOW)
    assert_clean(tally, "quantize")
