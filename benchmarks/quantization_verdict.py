"""What a run across quantizations can say: per file, does surgical steering beat none, and
does the file lose Localization or Transfer against the file with the most bits? Each paired
difference from ``quantizations.json`` with its 95 % interval, a reading (above / below zero,
or "cannot tell"), and for "cannot tell" the items per language at which an interval of the
same relative width would exclude zero if the difference stayed as it is (the interval
narrows as 1/sqrt(n)). Run after ``surgsteer eval`` on several files:

    python -m benchmarks.quantization_verdict runs/qwen-quantizations
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

NO_DIFFERENCE = 1e-9
AXES = {"transfer": "Transfer", "localization": "Loc (native)", "localization-en": "Loc (En)"}


def reading(difference: dict[str, float] | None, languages: int) -> str:
    """``+0.050 [+0.01, +0.09] above 0``, or ``... cannot tell (~N items/language)``."""
    if difference is None:
        return "—"
    mean, low, high, n = (difference[k] for k in ("mean", "low", "high", "n"))
    text = f"{mean:+.3f} [{low:+.2f}, {high:+.2f}]"
    if low > 0:
        return f"{text} above 0"
    if high < 0:
        return f"{text} below 0"
    half = (high - low) / 2
    # a mean over languages can be 1e-17 instead of 0 (float sums): that is no difference
    if abs(mean) < NO_DIFFERENCE or half == 0:
        return f"{text} cannot tell (no difference seen)"
    needed = math.ceil(n / languages * (half / abs(mean)) ** 2)
    return f"{text} cannot tell (~{needed} items/language)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    run = parser.parse_args().run
    report = json.loads((run / "quantizations.json").read_text(encoding="utf-8"))
    languages = len(report["languages"])
    files = report["files"]
    best = files[0]
    comparisons = [
        key for key in files[0] if key.startswith("surgical - ") or key.startswith("vs ")
    ]
    for key in comparisons:
        title = key if key.startswith("surgical") else f"none on this file - none on {best['name']}"
        print(f"### {title}\n")
        print("| file | type | bits/weight | " + " | ".join(AXES.values()) + " |")
        print("|---|---|---:|" + "---|" * len(AXES))
        for file in files:
            cells = [reading(file[key][axis], languages) for axis in AXES]
            print(
                f"| {file['name']} | {file['quantization']} | {file['bits_per_weight']:.2f} | "
                + " | ".join(cells)
                + " |"
            )
        print()


if __name__ == "__main__":
    main()
