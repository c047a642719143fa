"""Eval scale-out benchmark: rows/s of ``surgsteer eval`` in one process and on Ray workers.

Three set-ups score the same small selection (Korean, configs none and en-all, --limit items
per axis) into fresh run directories, one after the other:

1. one process, ``--threads 2``;
2. ``--workers 2 --threads 1``: the local Ray runtime eval starts itself;
3. a simulated two-node cluster on this machine: ``ray start --head`` and ``ray start
   --address``, one CPU each, on 127.0.0.1, joined with ``--ray-address --workers 2``.

Per set-up: rows, wall time, time to the first row (imports, Ray, model loads), the steady
rate (rows/s from the first row to the last, as the results file grows), the workers' mean
seconds per row and the driver's own milliseconds per row besides waiting (Ray only), with the
load average before and after: the machine may be shared. With ``--estimate SUMMARY``, the
time of the whole test split (every language, every config, both Localization measures) for
each quantization type, on N workers, from the per-axis seconds per row SUMMARY measured.
Run from the repository root:

    python -m benchmarks.eval_scale [--model NAME] [--limit 8] \
        [--estimate docs/results/qwen-test/summary.json] | tee docs/results/eval-scale.txt
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from surgsteer_cli.evaluation.results import RESULTS
from surgsteer_cli.evaluation.selection import LANGUAGES, REFERENCE, load_eval_data
from surgsteer_cli.models import resolve_model
from surgsteer_cli.quantize import TYPES
from surgsteer_cli.steering import CONFIGS

REPO = Path(__file__).resolve().parents[1]

RAY_ENV = {
    "PYTHONPATH": str(REPO),
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_worker_niceness": "0",
    "RAY_AUTH_MODE": "token",  # the token `ray start` keeps in ~/.ray, for every process
}
PORT = 6391
AXIS_COST = re.compile(r"(transfer|localization-en|localization) ([\d.]+) s/item")
DRIVER_COST = re.compile(r"driver: ([\d.]+) ms/item")
WORKER_COUNTS = (1, 2, 4, 8, 16, 32)


@dataclass
class Run:
    """One set-up's measurements."""

    name: str
    rows: int
    wall_s: float
    first_row_s: float
    steady_rows_per_s: float
    worker_s_per_row: float
    driver_ms_per_row: float | None
    load_before: float
    load_after: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gemma3-270m", help="model name or GGUF file")
    parser.add_argument("--limit", type=int, default=8, help="items per language and axis")
    parser.add_argument("--estimate", type=Path, help="a summary.json with seconds_per_item")
    args = parser.parse_args()
    model = resolve_model(args.model)
    command = [sys.executable, "-m", "surgsteer_cli", "eval", "--model", str(model)]
    command += ["--lang", "ko", "--config", "none,en-all", "--limit", str(args.limit)]
    print(f"model {model.name}, Korean, configs none and en-all, --limit {args.limit}")
    print(f"CPUs {os.cpu_count()}, load average at start {os.getloadavg()[0]:.2f}\n")
    with tempfile.TemporaryDirectory() as scratch:
        runs = [measure("1 process x 2 threads", [*command, "--threads", "2"], Path(scratch))]
        workers = [*command, "--threads", "1", "--workers", "2"]
        runs.append(measure("2 workers x 1 thread", workers, Path(scratch)))
        with two_node_cluster() as address:
            joined = [*workers, "--ray-address", address]
            runs.append(measure("2 nodes x 1 worker (ray start)", joined, Path(scratch)))
    print_runs(runs)
    if args.estimate:
        print_estimate(args.estimate, runs)


def measure(name: str, command: list[str], scratch: Path) -> Run:
    """Run ``command`` into a fresh directory, following its results file as it grows."""
    out = scratch / re.sub(r"\W+", "-", name)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "--out", str(out)],
        cwd=REPO,
        env={**os.environ, **RAY_ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    arrivals: list[tuple[float, int]] = []  # (seconds since start, rows so far)
    while process.poll() is None:
        rows = _lines(out / RESULTS)
        if rows and (not arrivals or rows != arrivals[-1][1]):
            arrivals.append((time.perf_counter() - started, rows))
        time.sleep(0.05)
    wall = time.perf_counter() - started
    stderr = process.stderr.read() if process.stderr else ""
    if process.returncode != 0:
        sys.exit(f"{name} failed ({process.returncode}):\n{stderr}")
    rows = _lines(out / RESULTS)
    arrivals.append((wall, rows))
    (first_s, first_rows), (last_s, _) = arrivals[0], arrivals[-1]
    driver = DRIVER_COST.search(stderr)
    return Run(
        name=name,
        rows=rows,
        wall_s=wall,
        first_row_s=first_s,
        steady_rows_per_s=(rows - first_rows) / max(last_s - first_s, 1e-9),
        worker_s_per_row=_worker_seconds(stderr, out / RESULTS),
        driver_ms_per_row=float(driver.group(1)) if driver else None,
        load_before=load_before,
        load_after=os.getloadavg()[0],
    )


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _worker_seconds(stderr: str, results: Path) -> float:
    """The mean seconds per row over all axes: eval's per-axis means, weighted by rows."""
    costs = {axis: float(seconds) for axis, seconds in AXIS_COST.findall(stderr)}
    lines = results.read_text(encoding="utf-8").splitlines()
    counts = Counter(json.loads(line)["axis"] for line in lines)
    return sum(costs[axis] * count for axis, count in counts.items()) / sum(counts.values())


@contextmanager
def two_node_cluster() -> Iterator[str]:
    """A Ray head and a second node on this machine, one CPU each; stopped (by their pids)
    afterwards."""
    address = f"127.0.0.1:{PORT}"
    environment = {**os.environ, **RAY_ENV}
    common = ["--block", "--num-cpus", "1", "--disable-usage-stats"]
    head = ["ray", "start", "--head", "--port", str(PORT), "--node-ip-address", "127.0.0.1"]
    quiet = {"env": environment, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    nodes = [subprocess.Popen([*head, "--include-dashboard=false", *common], **quiet)]
    try:
        _wait_for_cpus(address, 1, environment)
        nodes.append(subprocess.Popen(["ray", "start", "--address", address, *common], **quiet))
        _wait_for_cpus(address, 2, environment)
        yield address
    finally:
        for process in reversed(nodes):
            process.terminate()
            process.wait(timeout=60)


def _wait_for_cpus(address: str, cpus: int, environment: dict[str, str]) -> None:
    """Until ``ray status`` counts ``cpus`` CPUs in the cluster at ``address``."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = subprocess.run(
            ["ray", "status", "--address", address],
            env=environment,
            capture_output=True,
            text=True,
        )
        if f"/{cpus:.1f} CPU" in status.stdout:
            return
        time.sleep(1)
    sys.exit(f"the Ray cluster at {address} did not reach {cpus} CPUs")


def print_runs(runs: Sequence[Run]) -> None:
    print("| set-up | rows | wall s | first row s | steady rows/s | worker s/row "
          "| driver ms/row | load before -> after |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for run in runs:
        driver = "-" if run.driver_ms_per_row is None else f"{run.driver_ms_per_row:.2f}"
        print(
            f"| {run.name} | {run.rows} | {run.wall_s:.1f} | {run.first_row_s:.1f} "
            f"| {run.steady_rows_per_s:.3f} | {run.worker_s_per_row:.3f} | {driver} "
            f"| {run.load_before:.2f} -> {run.load_after:.2f} |"
        )
    base = runs[0].steady_rows_per_s
    for run in runs[1:]:
        print(f"{run.name}: {run.steady_rows_per_s / base:.2f}x the steady rate of {runs[0].name}")


def print_estimate(summary: Path, runs: Sequence[Run]) -> None:
    """Hours for the whole test split per model and for every quantization type, on N workers
    each as fast as the one process that wrote ``summary``, plus the driver's share."""
    (model, costs), *_ = json.loads(summary.read_text(encoding="utf-8"))["seconds_per_item"].items()
    data = load_eval_data(LANGUAGES, split="test", limit=None, transfer="mcq")
    languages = [language for language in data.transfer if language != REFERENCE]
    localization = sum(len(data.localization[language]) for language in languages)
    rows = {
        "transfer": len(data.transfer[REFERENCE])
        + len(CONFIGS) * sum(len(data.transfer[language]) for language in languages),
        "localization": len(CONFIGS) * localization,
        "localization-en": len(CONFIGS) * localization,
    }
    seconds = sum(rows[axis] * costs[axis] for axis in rows)
    total = sum(rows.values())
    driver_ms = max(run.driver_ms_per_row or 0.0 for run in runs)
    print(f"\nEstimate: the whole test split on {model} (costs from {summary}, one process)")
    print(", ".join(f"{axis} {rows[axis]} rows x {costs[axis]:.3f} s" for axis in rows))
    print(f"one model: {total} rows, {seconds / 3600:.1f} h in one process")
    driver_min = total * driver_ms / 1000 / 60
    print(f"driver: {driver_min:.1f} min of its own per model at {driver_ms:.2f} ms/row")
    print(f"\n| workers | one model h | all {len(TYPES)} types h |")
    print("|---:|---:|---:|")
    for workers in WORKER_COUNTS:
        hours = seconds / workers / 3600
        print(f"| {workers} | {hours:.2f} | {hours * len(TYPES):.1f} |")


if __name__ == "__main__":
    main()
