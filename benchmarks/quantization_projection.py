"""How long the run across quantizations takes, from the seconds per item a small slice
measured (the ``seconds`` each result row records, else the run's ``summary.json``): mean
seconds per axis, times the rows of the full plan (files x configs x languages x items x
(Transfer + both Localization measures), plus the English reference per file). Run on the
probe's run directory:

    python -m benchmarks.quantization_projection runs/probe [--files 4 --configs 4 \
        --languages 5 --items 30]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from benchmarks.result_rows import read_rows

AXES = ("transfer", "localization", "localization-en")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--configs", type=int, default=4)
    parser.add_argument("--languages", type=int, default=5)
    parser.add_argument("--items", type=int, default=30)
    options = parser.parse_args()
    seconds: dict[str, list[float]] = defaultdict(list)
    results = options.run / "results.jsonl"
    for row in read_rows(results if results.exists() else results.with_suffix(".jsonl.gz")):
        if "seconds" in row:
            seconds[row["axis"]].append(row["seconds"])
    if seconds:
        means = {axis: sum(values) / len(values) for axis, values in seconds.items()}
        counts = {axis: f"over {len(values)} items" for axis, values in seconds.items()}
    else:  # a run from before rows recorded their seconds: its summary's means
        summary = json.loads((options.run / "summary.json").read_text(encoding="utf-8"))
        [means] = summary["seconds_per_item"].values()
        counts = {axis: "(summary.json)" for axis in means}
    for axis in AXES:
        if axis in means:
            print(f"{axis}: {means[axis]:.2f} s/item {counts[axis]}")
    per_cell = options.configs * options.languages * options.items
    rows = {axis: options.files * per_cell for axis in AXES}
    rows["transfer"] += options.files * options.items  # the English reference
    total = sum(rows[axis] * means.get(axis, 0.0) for axis in AXES)
    print(
        f"plan: {options.files} files x {options.configs} configs x {options.languages} "
        f"languages x {options.items} items: {sum(rows.values())} rows, "
        f"projected {total / 3600:.1f} h at these rates"
    )


if __name__ == "__main__":
    main()
