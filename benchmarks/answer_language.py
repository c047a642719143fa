"""In which language does each setting answer? The answer-language table of an eval run
(``surgsteer_cli/evaluation/answer_language.py``), from its results file; ``surgsteer eval``
writes the same table to ``answer-language.md``. Run after ``surgsteer eval``:

    python -m benchmarks.answer_language runs/full/results.jsonl
"""

from __future__ import annotations

import argparse
from pathlib import Path

from surgsteer_cli.evaluation.answer_language import markdown, tally
from surgsteer_cli.evaluation.results import read_rows


def main() -> None:
    """Print the answer-language table of the results file named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    print(markdown(tally(read_rows(parser.parse_args().results))), end="")


if __name__ == "__main__":
    main()
