"""Give shipped LOC vectors the placement and default scale chosen on the tune split.

The directions stay as extracted; only the tags ``surgsteer.placement`` and
``surgsteer.default_scale`` change, and ``surgsteer.scale_check`` says why (docs/experiments.md
§17; the tune-split sweep is ``docs/lab/placement_sweep.py``, its output
``docs/results/placement-tune/sweep.txt``). Idempotent:

    python -m benchmarks.place_loc_vectors vectors/qwen2.5-coder-1.5b --placement prompt --scale 0.3
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from surgsteer_cli import vector_file

NOTE = "placement {placement} x{scale:g} chosen on the tune split (experiments §17)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--placement", choices=vector_file.PLACEMENTS, required=True)
    parser.add_argument("--scale", type=float, required=True)
    args = parser.parse_args()
    note = NOTE.format(placement=args.placement, scale=args.scale)
    for path in sorted(args.directory.glob("*.loc.gguf")):
        vector = vector_file.read(path)
        check = vector.scale_check.split("; placement ")[0]
        placed = dataclasses.replace(
            vector,
            placement=args.placement,
            default_scale=args.scale,
            scale_check=f"{check}; {note}",
            warnings=[],
        )
        vector_file.write(placed, path)
        print(f"{path}: {note}")


if __name__ == "__main__":
    main()
