"""Does surgical steering beat the baselines? The verdict table of an eval run
(``surgsteer_cli/evaluation/verdict.py``: the rule, the paired differences), from its
results file; ``surgsteer eval`` writes the same table to ``verdict.md``. Run after
``surgsteer eval`` (all five configs at their default scales):

    python -m benchmarks.plane_verdict runs/plane/results.jsonl
"""

from __future__ import annotations

import argparse
from pathlib import Path

from surgsteer_cli.evaluation.results import read_rows
from surgsteer_cli.evaluation.verdict import item_cells, markdown


def main() -> None:
    """Print the verdict table of the results file named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    print(markdown(item_cells(read_rows(parser.parse_args().results))), end="")


if __name__ == "__main__":
    main()
