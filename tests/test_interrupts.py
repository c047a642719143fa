"""Stopping ``eval`` and ``quantize`` with SIGINT or SIGKILL, then running them again, gives
the results of an uninterrupted run: nothing lost, duplicated, changed, half-written or left
behind. A few runs of ``benchmarks/interrupt_runs.py``'s harness on the real model; the full
campaign (20 runs per command, ``extract`` too) is ``python benchmarks/interrupt_runs.py``."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

from benchmarks.interrupt_runs import JOBS, Command, Tally, eval_job, run_job

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


@pytest.mark.xfail(
    strict=True,
    reason="bug: a Ctrl-C that arrives while llama.cpp is busy in C (quantizing, loading a model) "
    "is raised inside the Python log callback llama.cpp calls (engine.silence_llama_logs, or "
    "llama-cpp-python's own), where ctypes prints it as 'Exception ignored' and drops it: "
    "quantize prints a traceback and carries on, ask/chat/eval keep loading and answer",
)
def test_ctrl_c_stops_quantize_while_llama_cpp_quantizes(tmp_path: Path) -> None:
    job = JOBS["quantize"]
    shared = tmp_path / "shared"
    shared.mkdir()
    job.setup(shared)
    out = tmp_path / "out"
    with Command(job, out, shared) as command:
        while not list(out.glob(".*.partial")):  # llama_model_quantize is writing
            assert command.process.poll() is None, command.wait()
            time.sleep(0.05)
        command.signal(signal.SIGINT)
        stderr = command.wait(timeout=30)
    assert command.process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert list(out.iterdir()) == []
