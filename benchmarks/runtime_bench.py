"""Runtime benchmark: what steering costs at run time, side by side with its baseline.

1. Decoding speed with a Korean profile applied vs unsteered (goal: ratio >= 0.99).
   Ratios are medians over pairs of runs taken in turns, so that the load of a shared machine
   drifting during the run hits both sides alike.
2. Switching profile (``set_control``) vs reloading the model (goal: >= 100x faster).
3. Decoding speed with surgsteer's default thread count (the CPUs not busy with other work)
   vs llama-cpp-python's default (half the cores) (goal: >= 1.0, not slower).
3b. The same while a pure-Python busy loop holds one core: the default (chosen with the loop
   running) vs all cores (goal: >= 1.0; all cores collapse when one is taken) and vs one
   thread (goal: >= 0.9). Kept short (--busy-rounds pairs): it competes with other work on
   a shared machine, and so does everything else here.
4. ``surgsteer ask`` cold start (a fresh process, steered) vs a bare llama-cpp-python script
   that loads the model, applies the same control vector to the same prompt tokens and
   samples as ``ask`` does, up to the same ``--tokens`` (goal: <= 1.3x), plus the import
   costs that make up the difference. Unequal work is an error: the script exits 1 when the
   two answers (or why they ended) differ.

The profile is made of seeded random directions (norm 4, EN at blocks 5-8, LOC at 12-15): the
cost of steering does not depend on what the vectors mean. Run from the repository root:

    python -m benchmarks.runtime_bench [--tokens 64] [--rounds 10] [--busy-rounds 3]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from surgsteer_cli import vector_file
from surgsteer_cli.cpus import allowed_cpus, available_cpus
from surgsteer_cli.engine import SAMPLING, Engine
from surgsteer_cli.models import resolve_model
from surgsteer_cli.profiles import Profile
from surgsteer_cli.prompting import qa_prompt, stop_sequences
from surgsteer_cli.steering import profile_buffer
from surgsteer_cli.vector_file import SteeringVector

REPO = Path(__file__).resolve().parents[1]

IMPORTS = ("numpy", "llama_cpp", "gguf", "rich.console")
QUESTION = "대한민국의 긴급 전화번호는 무엇인가요?"

BARE_SCRIPT = """
import ctypes, json, sys
import numpy as np
import llama_cpp

path, buffer_file, tokens_file = sys.argv[1], sys.argv[2], sys.argv[3]
max_tokens, threads, stop = int(sys.argv[4]), int(sys.argv[5]), json.loads(sys.argv[6])
sampling = json.loads(sys.argv[7])
llm = llama_cpp.Llama(model_path=path, n_ctx=2048, n_threads=threads, verbose=False)
buffer = np.load(buffer_file)
n_layer, n_embd = buffer.shape
data = buffer.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
llama_cpp.llama_set_adapter_cvec(llm.ctx, data, buffer.size, n_embd, 1, n_layer - 1)
tokens = np.load(tokens_file).tolist()
out = llm.create_completion(tokens, max_tokens=max_tokens, temperature=0.0, seed=0,
                            stop=stop, **sampling)
choice = out["choices"][0]
print(json.dumps({"answer": choice["text"].strip(), "finish_reason": choice["finish_reason"]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64, help="tokens per speed run")
    parser.add_argument("--rounds", type=int, default=10, help="steered/unsteered pairs")
    parser.add_argument("--reloads", type=int, default=3, help="model reloads to time")
    parser.add_argument("--cold-runs", type=int, default=4, help="cold-start pairs")
    parser.add_argument("--busy-rounds", type=int, default=3, help="pairs with a busy core")
    args = parser.parse_args()

    model_path = resolve_model(None)
    engine = Engine(model_path)
    profiles = {code: make_profile(engine, code, seed) for seed, code in enumerate(["ko", "es"])}
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}; backend {engine.backend}; "
        f"model {model_path.name}"
    )
    rows = [
        decoding_speed(engine, profiles["ko"], args.tokens, args.rounds),
        switch_vs_reload(engine, profiles, model_path, args.reloads),
        thread_speed(model_path, args.tokens, args.rounds),
        *busy_thread_speed(model_path, args.tokens, args.busy_rounds),
    ]
    cold, notes, same = cold_start(engine, profiles["ko"], model_path, args.cold_runs, args.tokens)
    rows.append(cold)
    print_table(rows)
    for note in notes:
        print(note)
    if not same:
        sys.exit("Error: the cold-start comparison is not equal work: the answers differ")


def make_profile(engine: Engine, language: str, seed: int) -> Profile:
    """A profile of seeded random directions with norm 4."""
    rng = np.random.default_rng(seed)

    def vector(role: str, layers: range) -> SteeringVector:
        directions = {}
        for layer in layers:
            direction = rng.standard_normal(engine.spec.n_embd).astype(np.float32)
            directions[layer] = direction * np.float32(4 / np.linalg.norm(direction))
        return SteeringVector(role, language, engine.spec, directions, method="benchmark")

    return Profile(language, en=vector("en", range(5, 9)), loc=vector("loc", range(12, 16)))


def decoding_speed(engine: Engine, profile: Profile, tokens: int, rounds: int) -> tuple:
    """Decoding tokens/s from llama.cpp's own counters, steered and unsteered in pairs."""
    steered_buffer = profile_buffer(profile, engine.spec)
    speeds = in_pairs(
        lambda: tokens_per_s(engine, steered_buffer, tokens),
        lambda: tokens_per_s(engine, None, tokens),
        rounds,
    )
    engine.set_control(None)
    ratio = median_ratio(*speeds)
    return (
        f"decoding tokens/s ({tokens} tokens, {rounds} pairs)",
        f"{statistics.median(speeds[0]):.1f} steered",
        f"{statistics.median(speeds[1]):.1f} unsteered",
        ratio,
        ">= 0.99",
        ratio >= 0.99,
    )


def thread_speed(model_path: Path, tokens: int, rounds: int) -> tuple:
    """Unsteered decoding tokens/s with the default threads vs half the cores."""
    threads = (available_cpus(), max(1, (os.cpu_count() or 1) // 2))
    engines = [Engine(model_path, n_threads=n) for n in threads]
    speeds = in_pairs(
        lambda: tokens_per_s(engines[0], None, tokens),
        lambda: tokens_per_s(engines[1], None, tokens),
        rounds,
    )
    ratio = median_ratio(*speeds)
    return (
        f"decoding tokens/s by thread count ({rounds} pairs)",
        f"{statistics.median(speeds[0]):.1f} with {threads[0]} threads",
        f"{statistics.median(speeds[1]):.1f} with {threads[1]}",
        ratio,
        ">= 1.0",
        ratio >= 1.0,
    )


def busy_thread_speed(model_path: Path, tokens: int, rounds: int) -> list[tuple]:
    """Unsteered decoding tokens/s while one core runs a busy loop: the default thread count
    (chosen with the loop running) against all cores and against one thread."""
    loop = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        default = Engine(model_path)
        chosen = default.llm.context_params.n_threads
        rows = []
        for threads, goal in ((allowed_cpus(), 1.0), (1, 0.9)):
            other = Engine(model_path, n_threads=threads)
            speeds = in_pairs(
                lambda other=other: tokens_per_s(other, None, tokens),
                lambda: tokens_per_s(default, None, tokens),
                rounds,
            )
            ratio = median_ratio(speeds[1], speeds[0])
            rows.append(
                (
                    f"one core busy: default vs {threads} thread(s) ({rounds} pairs)",
                    f"{statistics.median(speeds[1]):.1f} with {chosen} (default)",
                    f"{statistics.median(speeds[0]):.1f} with {threads}",
                    ratio,
                    f">= {goal:g}",
                    ratio >= goal,
                )
            )
    finally:
        loop.kill()
        loop.wait()
    return rows


def tokens_per_s(engine: Engine, buffer: np.ndarray | None, tokens: int) -> float:
    """Decoding speed over ``tokens`` greedy tokens of the benchmark question."""
    engine.set_control(buffer)
    engine.reset_perf()
    prompt = engine.tokenize(qa_prompt(QUESTION))
    for _token in itertools.islice(engine.llm.generate(prompt, temp=0.0), tokens):
        pass
    return engine.perf().tokens_per_s


def switch_vs_reload(
    engine: Engine, profiles: dict[str, Profile], model_path: Path, reloads: int
) -> tuple:
    """Median time of a profile switch (set_control) vs a fresh model load."""
    buffers = [
        profile_buffer(profiles["ko"], engine.spec),
        profile_buffer(profiles["es"], engine.spec),
    ]
    switch = median_time(lambda i: engine.set_control(buffers[i % 2]), 50)
    engine.set_control(None)
    reload = median_time(lambda i: Engine(model_path), reloads)
    return (
        "profile switch vs model reload",
        f"{switch * 1e3:.3f} ms switch",
        f"{reload * 1e3:.0f} ms reload",
        reload / switch,
        ">= 100x",
        reload / switch >= 100,
    )


def cold_start(
    engine: Engine, profile: Profile, model_path: Path, runs: int, tokens: int
) -> tuple[tuple, list[str], bool]:
    """Wall time of ``surgsteer ask`` in a fresh process vs the bare llama-cpp-python script
    doing the same work: the prompt tokens ``ask`` decodes, the control buffer it applies
    (the profile's vectors on every token, ``--localize vector``), greedy sampling with its
    sampler settings and stop sequences, ``tokens`` at most. The row passes only when both
    give the same answer and end for the same reason (the third value)."""
    with tempfile.TemporaryDirectory() as tmp:
        vectors = Path(tmp) / "vectors"
        for vector in (profile.en, profile.loc):
            vector_file.write(vector, vectors / f"{vector.language}.{vector.role}.gguf")
        buffer_file = Path(tmp) / "buffer.npy"
        np.save(buffer_file, profile_buffer(profile, engine.spec))
        tokens_file = Path(tmp) / "tokens.npy"
        prompt = qa_prompt(QUESTION, chat_template=engine.chat_template)
        np.save(tokens_file, np.array(engine.tokenize(prompt), dtype=np.int64))
        env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
        ask = [sys.executable, "-m", "surgsteer_cli", "ask", "--json", "--localize", "vector"]
        ask += ["--max-tokens", str(tokens), "--vectors", str(vectors), QUESTION]
        bare = [sys.executable, "-c", BARE_SCRIPT, str(model_path), str(buffer_file)]
        bare += [str(tokens_file), str(tokens), str(available_cpus())]
        bare += [json.dumps(stop_sequences(engine.chat_template)), json.dumps(SAMPLING)]
        outputs: dict[str, dict] = {}

        def wall_time(name: str, command: list[str]) -> float:
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, env=env, check=True)
            outputs[name] = json.loads(done.stdout)
            return time.perf_counter() - started

        in_pairs(lambda: wall_time("ask", ask), lambda: wall_time("bare", bare), 1)  # warm-up
        times = in_pairs(lambda: wall_time("ask", ask), lambda: wall_time("bare", bare), runs)
    record, plain = outputs["ask"], outputs["bare"]
    same = (record["answer"], record["finish_reason"]) == (plain["answer"], plain["finish_reason"])
    ratio = median_ratio(*times)
    row = (
        f"cold start, steered, {record['timings']['decoded_tokens'] + 1} tokens ({runs} pairs)",
        f"{statistics.median(times[0]):.2f} s surgsteer ask",
        f"{statistics.median(times[1]):.2f} s bare script",
        ratio,
        "<= 1.3x",
        ratio <= 1.3,
    )
    notes = [
        f"same answer from both: {'yes' if same else 'NO'} "
        f"(ask {record['finish_reason']}: {record['answer']!r}; "
        f"bare {plain['finish_reason']}: {plain['answer']!r})",
        "import costs in a fresh interpreter: "
        + ", ".join(f"{m} {import_time(m):.2f} s" for m in IMPORTS)
        + f"; py3langid model load {langid_load_time():.2f} s (Latin/Arabic-script questions)",
    ]
    return row, notes, same


def in_pairs(
    first: Callable[[], float], second: Callable[[], float], rounds: int
) -> tuple[list[float], list[float]]:
    """Measure both ``rounds`` times, in turns (AB, BA, AB...) so that drifting load on the
    machine hits both alike."""
    results: tuple[list[float], list[float]] = ([], [])
    for index in range(rounds):
        order = (0, 1) if index % 2 == 0 else (1, 0)
        for which in order:
            results[which].append((first, second)[which]())
    return results


def median_ratio(first: list[float], second: list[float]) -> float:
    """Median over the pairs of first / second."""
    return statistics.median(a / b for a, b in zip(first, second, strict=True))


def median_time(action: Callable[[int], object], repeats: int) -> float:
    times = []
    for i in range(repeats):
        started = time.perf_counter()
        action(i)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def import_time(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True).stdout)


def langid_load_time() -> float:
    code = (
        "import time; from surgsteer_cli import langid; t = time.perf_counter(); "
        "langid._identifier(); print(time.perf_counter() - t)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, env=env).stdout)


def print_table(rows: list[tuple]) -> None:
    header = ("measure", "surgsteer", "baseline", "ratio", "goal", "met")
    cells = [header] + [
        (m, s, b, f"{r:.3g}", g, "yes" if ok else "NO") for m, s, b, r, g, ok in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for index, row in enumerate(cells):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))


if __name__ == "__main__":
    main()
