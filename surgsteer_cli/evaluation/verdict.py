"""Does surgical steering beat the baselines? Issue 6's test, per language, from an eval run's rows.

For each model and language: surgical vs en-all and vs en-mid on Transfer, surgical vs none on
Localization (native, and English questions where the run has them: "loc" and "loc-en"
columns), each as a paired difference on the same items with a bootstrap 95 % interval (items
resampled, both settings together). **A language passes when surgical is not below any
baseline (every mean difference >= 0) and at least one difference is above zero beyond its
interval (its lower bound > 0)**; a tie everywhere fails. The ``all`` row pools the languages
the same way: the mean of the per-language differences, each language's items resampled
separately. ``surgsteer eval`` writes the table to ``verdict.md`` when the run has surgical.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from surgsteer_cli.evaluation.summary import bootstrap_ci

COMPARISONS = (
    ("transfer", "en-all"),
    ("transfer", "en-mid"),
    ("localization", "none"),
    ("localization-en", "none"),
)
"""(axis, baseline) pairs surgical is compared with, in table order."""
OURS = "surgical"

Cells = dict[tuple[str, str, str, str], dict[str, float]]
"""(model, setting, language, axis) -> {item: 1.0 if correct else 0.0}."""


@dataclass(frozen=True)
class Difference:
    """Mean of surgical minus ``base`` on ``axis`` over shared items, with its 95 % interval."""

    axis: str
    base: str
    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class Verdict:
    """One row: a model and a language (``all``: pooled); ``differences`` follows the run's
    comparisons, None where a language lacks one of the two settings."""

    model: str
    language: str
    differences: tuple[Difference | None, ...]

    @property
    def passed(self) -> bool:
        """The rule of the module doc, over the differences the row has."""
        return passes([d for d in self.differences if d is not None])


def passes(differences: Sequence[Difference]) -> bool:
    """Not below any baseline and above one beyond its interval (module doc)."""
    return all(d.mean >= 0 for d in differences) and any(d.low > 0 for d in differences)


def item_cells(rows: Iterable[dict[str, Any]]) -> Cells:
    """Per (model, setting, language, axis), each item's correctness."""
    cells: Cells = defaultdict(dict)
    for row in rows:
        key = (row["model"], row["setting"], row["language"], row["axis"])
        cells[key][row["item"]] = float(row["correct"])
    return cells


def paired(
    pairs: Sequence[tuple[dict[str, float], dict[str, float]]], seed: int
) -> tuple[float, float, float]:
    """Mean over languages of the difference (ours - theirs) on each language's shared items,
    with its bootstrap 95 % interval; ``pairs`` holds one (ours, theirs) per language."""
    diffs = [
        np.array([ours[item] - theirs[item] for item in sorted(ours.keys() & theirs.keys())])
        for ours, theirs in pairs
    ]
    low, high = bootstrap_ci(diffs, np.random.default_rng(seed))
    return float(np.mean([diff.mean() for diff in diffs])), low, high


def comparisons(cells: Cells) -> list[tuple[str, str]]:
    """The COMPARISONS whose axis the run scored."""
    axes = {axis for *_, axis in cells}
    return [(axis, base) for axis, base in COMPARISONS if axis in axes]


def verdicts(cells: Cells) -> list[Verdict]:
    """A row per model and language that has surgical, then the pooled row of each model with
    more than one language."""
    rows = []
    for model in sorted({model for model, *_ in cells}):
        languages = sorted({lang for m, s, lang, _ in cells if m == model and s == OURS})
        rows += [verdict(cells, model, [language]) for language in languages]
        if len(languages) > 1:
            rows.append(verdict(cells, model, languages))
    return rows


def verdict(cells: Cells, model: str, languages: Sequence[str]) -> Verdict:
    """The row for ``languages`` pooled (one language: that language's row)."""
    differences: list[Difference | None] = []
    for axis, base in comparisons(cells):
        pairs = [
            (cells[model, OURS, language, axis], cells[model, base, language, axis])
            for language in languages
            if (model, OURS, language, axis) in cells and (model, base, language, axis) in cells
        ]
        if len(pairs) < len(languages):
            differences.append(None)
            continue
        mean, low, high = paired(pairs, COMPARISONS.index((axis, base)))
        differences.append(Difference(axis, base, mean, low, high))
    name = languages[0] if len(languages) == 1 else "all"
    return Verdict(model, name, tuple(differences))


def markdown(cells: Cells) -> str:
    """The verdict table of a run, one markdown line per row."""
    compared = comparisons(cells)
    header = [
        f"{OURS} - {base} ({axis.replace('transfer', 'tra').replace('localization', 'loc')})"
        for axis, base in compared
    ]
    lines = [
        "| model | lang | " + " | ".join(header) + " | verdict |",
        "|---|---|" + "---|" * len(header) + "---|",
    ]
    for row in verdicts(cells):
        results = [
            "—" if d is None else f"{d.mean:+.3f} [{d.low:+.3f}, {d.high:+.3f}]"
            for d in row.differences
        ]
        passed = "pass" if row.passed else "fail"
        lines.append(f"| {row.model} | {row.language} | " + " | ".join(results) + f" | {passed} |")
    return "\n".join(lines) + "\n"
