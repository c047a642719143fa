"""Wall time, CPU time and peak RSS of extracting every shipped vector on the default model.

Runs the regeneration command of ``vectors/README.md`` (``surgsteer extract --all``) in a
subprocess writing to a temporary folder, with the shipped bands, and prints the numbers.
``--cold`` starts from an empty SURGSTEER_HOME, so the GGUF -> PyTorch conversion is included.
Goal: < 10 min and < 4 GB on 2 cores.

    python benchmarks/extract_bench.py [--cold]
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
SHIPPED = ROOT / "vectors" / "gemma3-270m"
GOAL_SECONDS, GOAL_BYTES = 600, 4 * 1024**3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="include the GGUF conversion")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "vectors"
        out.mkdir()
        shutil.copy(SHIPPED / "layers.json", out / "layers.json")  # the shipped bands
        env = dict(os.environ)
        if args.cold:
            env["SURGSTEER_HOME"] = str(Path(tmp) / "home")
        command = [sys.executable, "-m", "surgsteer_cli", "extract", "--all", "--out", str(out)]
        start = time.perf_counter()
        subprocess.run(command, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        files = sorted(path.name for path in out.glob("*.gguf"))
    peak = usage.ru_maxrss * 1024  # Linux reports KiB
    cpu = usage.ru_utime + usage.ru_stime
    kind = "cold: includes the GGUF conversion" if args.cold else "warm conversion cache"
    print(f"surgsteer extract --all ({kind}): {len(files)} files, {os.cpu_count()} cores")
    print(f"wall time: {wall:7.1f} s   goal < {GOAL_SECONDS} s: {_verdict(wall < GOAL_SECONDS)}")
    print(f"CPU time : {cpu:7.1f} s   (user + system; the load of other processes inflates wall)")
    print(f"peak RSS : {peak / 1024**3:7.2f} GB  goal < 4 GB: {_verdict(peak < GOAL_BYTES)}")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


if __name__ == "__main__":
    main()
