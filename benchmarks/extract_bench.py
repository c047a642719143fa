"""Wall time, CPU time and peak RSS of extracting every shipped vector of a named model.

Runs the regeneration command of ``vectors/README.md`` (``surgsteer extract --all``) in a
subprocess writing to a temporary folder, with the shipped bands of that model, and prints the
numbers. ``--cold`` starts from an empty SURGSTEER_HOME, so the GGUF -> PyTorch conversion is
included. Goals on 2 cores: Gemma 3 270M < 10 min and < 4 GB; Qwen2.5-Coder-1.5B < 30 min and
< 12 GB.

    python -m benchmarks.extract_bench [--model gemma3-270m|qwen2.5-coder-1.5b] [--cold]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# model: (seconds, bytes, --max-items of the shipped files)
GOALS = {
    "gemma3-270m": (600, 4 * 1024**3, None),
    "qwen2.5-coder-1.5b": (1800, 12 * 1024**3, 50),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(GOALS), default="gemma3-270m")
    parser.add_argument("--cold", action="store_true", help="include the GGUF conversion")
    args = parser.parse_args()
    goal_seconds, goal_bytes, max_items = GOALS[args.model]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "vectors"
        out.mkdir()
        shipped = ROOT / "vectors" / args.model
        shutil.copy(shipped / "layers.json", out / "layers.json")  # the shipped bands
        env = dict(os.environ)
        if args.cold:
            env["SURGSTEER_HOME"] = str(Path(tmp) / "home")
        command = [
            *(sys.executable, "-m", "surgsteer_cli", "extract", "--model", args.model),
            *("--all", "--out", str(out)),
            *(("--max-items", str(max_items)) if max_items else ()),
        ]
        start = time.perf_counter()
        subprocess.run(command, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        files = sorted(path.name for path in out.glob("*.gguf"))
    peak = usage.ru_maxrss * 1024  # Linux reports KiB
    cpu = usage.ru_utime + usage.ru_stime
    kind = "cold: includes the GGUF conversion" if args.cold else "warm conversion cache"
    print(
        f"surgsteer extract --model {args.model} --all ({kind}): {len(files)} files, "
        f"{os.cpu_count()} cores"
    )
    print(f"wall time: {wall:7.1f} s   goal < {goal_seconds} s: {_verdict(wall < goal_seconds)}")
    print(f"CPU time : {cpu:7.1f} s   (user + system; the load of other processes inflates wall)")
    print(
        f"peak RSS : {peak / 1024**3:7.2f} GB  goal < {goal_bytes / 1024**3:.0f} GB: "
        f"{_verdict(peak < goal_bytes)}"
    )
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


if __name__ == "__main__":
    main()
