"""Does surgical steering beat the baselines? Issue 6's test, per language, from an eval run.

For each model and language in ``results.jsonl``: surgical vs en-all and vs en-mid on
Transfer, surgical vs none on Localization (native, and English questions where the run has
them: "loc" and "loc-en" columns), each as a paired difference on the same items with
a bootstrap 95 % interval (items resampled, both settings together). A language passes when
surgical is not below any baseline and at least one difference is above zero beyond its
interval. The ``all`` row pools the languages the same way: the mean of the per-language
differences, each language's items resampled separately. Run after ``surgsteer eval`` (all
five configs at their default scales):

    python benchmarks/plane_verdict.py runs/plane/results.jsonl
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.result_rows import read_rows  # noqa: E402
from surgsteer_cli.evaluation.summary import bootstrap_ci  # noqa: E402

COMPARISONS = (
    ("transfer", "en-all"),
    ("transfer", "en-mid"),
    ("localization", "none"),
    ("localization-en", "none"),
)


def load(path: Path) -> dict[tuple[str, str, str, str], dict[str, float]]:
    """(model, setting, language, axis) -> {item: 1.0 if correct else 0.0}."""
    cells: dict[tuple[str, str, str, str], dict[str, float]] = defaultdict(dict)
    for row in read_rows(path):
        key = (row["model"], row["setting"], row["language"], row["axis"])
        cells[key][row["item"]] = float(row["correct"])
    return cells


def paired(
    pairs: list[tuple[dict[str, float], dict[str, float]]], seed: int
) -> tuple[float, float, float]:
    """Mean over languages of the difference (ours - theirs) on each language's shared items,
    with its bootstrap 95 % interval; ``pairs`` holds one (ours, theirs) per language."""
    diffs = [
        np.array([ours[item] - theirs[item] for item in sorted(ours.keys() & theirs.keys())])
        for ours, theirs in pairs
    ]
    low, high = bootstrap_ci(diffs, np.random.default_rng(seed))
    return float(np.mean([diff.mean() for diff in diffs])), low, high


def verdict_row(
    cells: dict[tuple[str, str, str, str], dict[str, float]], model: str, languages: list[str]
) -> str:
    """The table row for ``languages`` pooled: one difference per comparison, then the verdict."""
    results, verdicts = [], []
    axes = {axis for *_, axis in cells}
    for seed, (axis, base) in enumerate(COMPARISONS):
        if axis not in axes:
            continue
        pairs = [
            (cells[model, "surgical", language, axis], cells[model, base, language, axis])
            for language in languages
            if (model, "surgical", language, axis) in cells
            and (model, base, language, axis) in cells
        ]
        if len(pairs) < len(languages):
            results.append("—")
            continue
        mean, low, high = paired(pairs, seed)
        results.append(f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]")
        verdicts.append((mean >= 0, low > 0))
    won = verdicts and all(ok for ok, _ in verdicts) and any(sure for _, sure in verdicts)
    name = languages[0] if len(languages) == 1 else "all"
    return f"| {model} | {name} | " + " | ".join(results) + f" | {'pass' if won else 'fail'} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    cells = load(parser.parse_args().results)
    models = sorted({model for model, *_ in cells})
    axes = {axis for *_, axis in cells}
    header = [
        f"surgical - {base} ({axis.replace('transfer', 'tra').replace('localization', 'loc')})"
        for axis, base in COMPARISONS
        if axis in axes
    ]
    print("| model | lang | " + " | ".join(header) + " | verdict |")
    print("|---|---|" + "---|" * len(header) + "---|")
    for model in models:
        languages = sorted({lang for m, s, lang, _ in cells if m == model and s == "surgical"})
        for language in languages:
            print(verdict_row(cells, model, [language]))
        if len(languages) > 1:
            print(verdict_row(cells, model, languages))


if __name__ == "__main__":
    main()
