"""Peak RSS, wall time, seconds per item and the largest cache file of ``surgsteer extract``.

One call measures one model with each ``--method`` given, one after the other (the old and new
methods side by side in one run: ``--method old --method new``), and appends a row per method to
a JSON-lines file; ``--table`` prints every saved row. Methods:

- ``new``: this checkout (the model streamed block by block, the scale check in llama.cpp);
- ``old``: the method before streaming (``OLD_COMMIT``: transformers dequantizes the whole GGUF
  to a float32 copy in the cache and loads it whole), run from a ``git archive`` of that commit.

Models: ``gemma3-270m``, ``qwen2.5-coder-1.5b`` (the shipped bands are copied to the output
folder, as for the shipped files), and ``synthetic-qwen2-3b`` / ``synthetic-qwen2-7b``
(``benchmarks/synthetic_model.py``: real shapes, RANDOM weights, written once into
``--work``; no bands: the run's own layer analysis chooses them). Every run starts from an empty
``SURGSTEER_HOME``; an untimed warm-up first loads the model once, which fills the cache (the old
float32 conversion, the new tokenizer folder), unless ``--cold``: then the conversion is timed
too. A warm-up that fails ends the measurement and is the row. A watchdog samples the
run's RSS (its whole process tree) and kills it above ``--rss-cap`` or after ``--time-limit``:
that row then says so.
"Seconds per item" is wall time / (languages x --max-items). Run one call at a time on an
otherwise idle machine, e.g.

    python -m benchmarks.extract_bench --model qwen2.5-coder-1.5b \\
        --method old --lang ko --lang zh --max-items 20 --rows docs/results/extract-bench.jsonl
    python -m benchmarks.extract_bench --table --rows docs/results/extract-bench.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import psutil

from benchmarks.synthetic_model import SHAPES, write_synthetic
from surgsteer_cli.models import resolve_model
from surgsteer_cli.vector_file import read
from surgsteer_convert.contrasts import LANGUAGES

ROOT = Path(__file__).resolve().parents[1]


OLD_COMMIT = "58d91ff"
"""The last commit of the whole-model method (float32 conversion cached, PyTorch scale check)."""
NAMED = ("gemma3-270m", "qwen2.5-coder-1.5b")
SYNTHETIC = {f"synthetic-{name}": shape for name, shape in SHAPES.items()}
GiB = 1024**3
WARM_UP = [
    "-c",
    "import sys; from surgsteer_convert.loading import load_model; load_model(sys.argv[1])",
]


@dataclass
class Row:
    """One measured run."""

    model: str
    method: str
    arguments: str
    status: str  # "ok", or why the run did not finish
    wall_s: float
    peak_rss_bytes: int
    items: int
    files: int
    largest_cache_file: str
    largest_cache_bytes: int
    gguf_bytes: int
    vectors: str  # where this run's vectors were kept ("" if none)
    cores: int
    load_average: float
    when: str


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=[*NAMED, *SYNTHETIC])
    parser.add_argument(
        "--method", action="append", choices=("new", "old"), help="repeatable [default: new]"
    )
    parser.add_argument("--lang", action="append", default=[], help="repeatable")
    parser.add_argument("--all", action="store_true", help="every language (extract --all)")
    parser.add_argument("--max-items", type=int, default=20)
    parser.add_argument("--cold", action="store_true", help="time the first run (cache empty)")
    parser.add_argument("--rss-cap", type=float, default=12.0, help="GiB; the run is killed above")
    parser.add_argument(
        "--time-limit", type=float, default=900.0, help="s; the run is stopped after"
    )
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "extract-bench")
    parser.add_argument("--rows", type=Path, required=True, help="JSON-lines file of results")
    parser.add_argument("--table", action="store_true", help="print the saved rows and stop")
    args = parser.parse_args()
    if args.table:
        print_table(args.rows)
        return
    if args.model is None or args.all == bool(args.lang):
        parser.error("give --model and either --lang L (repeatable) or --all")
    for method in args.method or ["new"]:
        row = measure(args, method)
        with args.rows.open("a", encoding="utf-8") as sink:
            sink.write(json.dumps(asdict(row)) + "\n")
    print_table(args.rows)


def measure(args: argparse.Namespace, method: str) -> Row:
    """Run the extraction with ``method`` (after an untimed warm-up unless --cold); measure it."""
    args.work.mkdir(parents=True, exist_ok=True)
    gguf = _gguf(args.model, args.work)
    code = ROOT if method == "new" else _old_checkout(args.work)
    languages = ["--all"] if args.all else [f"--lang={lang}" for lang in args.lang]
    extract = [*languages, "--max-items", str(args.max_items)]
    run_dir = Path(tempfile.mkdtemp(prefix=f"{args.model}-{method}-", dir=args.work))
    python_path = os.pathsep.join(filter(None, [str(code), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "SURGSTEER_HOME": str(run_dir / "home"), "PYTHONPATH": python_path}
    limits = (int(args.rss_cap * GiB), args.time_limit)
    out = run_dir / "vectors"
    status = "ok"
    if not args.cold:
        status, wall, peak = _run(code, [*WARM_UP, str(gguf)], env, *limits)
        status = status if status == "ok" else f"warm-up (loading the model): {status}"
    if status == "ok":
        out.mkdir()
        shipped = ROOT / "vectors" / _named(gguf) / "layers.json"
        if shipped.is_file():
            shutil.copy(shipped, out / "layers.json")  # the shipped bands
        extract_command = ["-m", "surgsteer_cli", "extract", "--model", str(gguf), *extract]
        status, wall, peak = _run(code, [*extract_command, "--out", str(out)], env, *limits)
    largest = _largest_file(run_dir / "home" / "cache")
    count = len(LANGUAGES) if args.all else len(args.lang)
    return Row(
        model=args.model,
        method=method,
        arguments=" ".join(extract) + (" (cold cache)" if args.cold else " (warm cache)"),
        status=status,
        wall_s=round(wall, 1),
        peak_rss_bytes=peak,
        items=count * args.max_items,
        files=len(list(out.glob("*.gguf"))) if out.is_dir() else 0,
        largest_cache_file=str(largest[0].relative_to(run_dir)) if largest else "",
        largest_cache_bytes=largest[1] if largest else 0,
        gguf_bytes=gguf.stat().st_size,
        vectors=str(out) if status == "ok" else "",
        cores=os.cpu_count() or 0,
        load_average=round(os.getloadavg()[0], 2),
        when=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )


def _gguf(model: str, work: Path) -> Path:
    """The model's GGUF: a named model's, or the synthetic file (written on first use)."""
    if model in NAMED:
        return resolve_model(model)
    path = work / f"{model}-Q4_0.gguf"
    if not path.exists():
        partial = path.with_suffix(".partial")
        write_synthetic(partial, SYNTHETIC[model], resolve_model("qwen2.5-coder-1.5b"))
        partial.rename(path)
    return path


def _old_checkout(work: Path) -> Path:
    """The code of OLD_COMMIT, unpacked once under ``work``."""
    target = work / f"code-{OLD_COMMIT}"
    if not target.is_dir():
        staging = Path(tempfile.mkdtemp(prefix=".code-", dir=work))
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", OLD_COMMIT], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(staging)], input=archive, check=True)
        staging.rename(target)
    return target


def _run(
    code: Path, arguments: list[str], env: dict[str, str], cap: int, limit: float
) -> tuple[str, float, int]:
    """Run Python with ``arguments`` in ``code``; (status, wall seconds, peak RSS bytes)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, *arguments],
        cwd=code,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    watch = _Watchdog(process.pid, cap, start + limit)
    watch.start()
    _, stderr = process.communicate()
    wall = time.perf_counter() - start
    watch.stop.set()
    watch.join()
    if watch.killed == "memory":
        status = (
            f"killed at {watch.peak / GiB:.1f} GiB RSS (cap {cap / GiB:.0f} GiB): out of memory"
        )
    elif watch.killed == "time":
        status = f"stopped at the time limit ({limit:.0f} s), unfinished"
    elif process.returncode != 0:
        last = stderr.decode(errors="replace").strip().splitlines()
        status = f"failed (exit {process.returncode}): {last[-1] if last else ''}"[:300]
    else:
        status = "ok"
    return status, wall, watch.peak


class _Watchdog(threading.Thread):
    """Samples the RSS of a process tree every 0.1 s; kills the tree above ``cap`` bytes or
    after ``deadline`` (``time.perf_counter``); ``killed`` says why ("memory", "time")."""

    def __init__(self, pid: int, cap: int, deadline: float) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.cap, self.deadline, self.peak, self.killed = cap, deadline, 0, ""
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            try:
                tree = [self.root, *self.root.children(recursive=True)]
                rss = sum(process.memory_info().rss for process in tree)
            except psutil.Error:
                continue
            self.peak = max(self.peak, rss)
            if rss > self.cap or time.perf_counter() > self.deadline:
                self.killed = "memory" if rss > self.cap else "time"
                for process in reversed(tree):
                    process.kill()
                return


def _named(gguf: Path) -> str:
    """The named model whose GGUF this is, else the file's name."""
    return next((name for name in NAMED if resolve_model(name) == gguf), gguf.name)


def _largest_file(folder: Path) -> tuple[Path, int] | None:
    files = [(path, path.stat().st_size) for path in folder.rglob("*") if path.is_file()]
    return max(files, key=lambda item: item[1]) if files else None


def print_table(rows_file: Path) -> None:
    """Every saved row, then the cosine between old and new directions where both exist."""
    rows = [Row(**json.loads(line)) for line in rows_file.read_text().splitlines() if line]
    print(
        f"{'model':<22} {'method':<6} {'peak RSS':>9} {'wall':>8} {'s/item':>7} "
        f"{'largest cache file (vs GGUF)':<44} status"
    )
    for row in rows:
        ratio = row.largest_cache_bytes / row.gguf_bytes
        cache = (
            f"{row.largest_cache_bytes / GiB:.2f} GiB = {ratio:.3f} x GGUF "
            f"({Path(row.largest_cache_file).name})"
            if row.largest_cache_file
            else "-"
        )
        print(
            f"{row.model:<22} {row.method:<6} {row.peak_rss_bytes / GiB:>5.2f} GiB "
            f"{row.wall_s:>6.0f} s {row.wall_s / row.items:>7.2f} {cache:<44} {row.status}"
        )
    for row in rows:
        print(
            f"  {row.model} {row.method}: {row.arguments}; {row.files} files; {row.cores} "
            f"cores; load average {row.load_average} at the end; {row.when}"
        )
    _compare(rows)


def _compare(rows: list[Row]) -> None:
    """Per file: the smallest cosine over blocks between the old and new directions."""
    finished = {
        (row.model, row.arguments, row.method): Path(row.vectors)
        for row in rows
        if row.vectors and Path(row.vectors).is_dir()
    }
    for (model, arguments, method), new in finished.items():
        old = finished.get((model, arguments, "old"))
        if method != "new" or old is None:
            continue
        worst = {}
        for path in sorted(new.glob("*.gguf")):
            a, b = read(path), read(old / path.name)
            worst[path.name] = min(
                float(np.dot(a.directions[n], b.directions[n]))
                / float(np.linalg.norm(a.directions[n]) * np.linalg.norm(b.directions[n]))
                for n in a.directions
            )
        text = ", ".join(f"{name} {value:.5f}" for name, value in worst.items())
        print(f"{model} ({arguments}): min over blocks of cos(new, old) per file: {text}")


if __name__ == "__main__":
    main()
