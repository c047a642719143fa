"""Scores per model, setting, language and metric, with bootstrap 95 % confidence intervals.

Metrics:
- ``transfer``: cloze (or multiple-choice) accuracy; for language ``all``, the mean over the
  non-English languages (English, scored without steering, is the reference);
- ``localization``: BLEnD soft-match accuracy on the question in its own language (country
  removed); ``localization-en``: the same on the English question under the language's
  profile; ``localization-facts``: culture facts right (``datasets.facts``); ``all`` is the
  mean over languages;
- ``consistency``: share of facts where the model picks the same candidate in the language as
  in unsteered English; ``all`` is the mean over languages.

Intervals are percentile bootstraps (:data:`RESAMPLES` resamples). For ``all``, each language's
items are resampled separately and the language means averaged, so every language keeps its
weight. Each cell's generator is seeded from its name and items are taken in key order, so
the numbers do not depend on the order of the results.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from surgsteer_cli.evaluation.selection import REFERENCE
from surgsteer_cli.paths import atomic_output

RESAMPLES = 2000
ALL = "all"
METRICS = ("transfer", "localization", "localization-en", "localization-facts", "consistency")
BASELINE = "none"


@dataclass(frozen=True)
class Score:
    """One cell of the summary."""

    model: str
    setting: str
    language: str
    metric: str
    score: float
    n: int
    ci_low: float
    ci_high: float
    languages: int = 1


def summarize(rows: Iterable[dict[str, Any]]) -> list[Score]:
    """All per-language and ``all`` scores for the given result rows, listed by model and
    setting in the order they first appear in ``rows``, then by metric and language."""
    rows = list(rows)
    samples = _samples(rows)
    scores = [
        _score(model, setting, language, metric, [values])
        for (model, setting, metric, language), values in samples.items()
    ]
    groups: dict[tuple[str, str, str], dict[str, np.ndarray]] = defaultdict(dict)
    for (model, setting, metric, language), values in samples.items():
        if language != REFERENCE:
            groups[model, setting, metric][language] = values
    for (model, setting, metric), by_language in groups.items():
        values = [by_language[language] for language in sorted(by_language)]
        scores.append(_score(model, setting, ALL, metric, values))
    first: dict[tuple[str, str], int] = {}
    for row in rows:
        first.setdefault((row["model"], row["setting"]), len(first))
    metrics = {metric: index for index, metric in enumerate(METRICS)}
    return sorted(
        scores,
        key=lambda s: (first[s.model, s.setting], metrics[s.metric], s.language == ALL, s.language),
    )


def bootstrap_ci(
    groups: Sequence[np.ndarray], rng: np.random.Generator, resamples: int = RESAMPLES
) -> tuple[float, float]:
    """95 % percentile interval of the mean of group means, resampling within each group."""
    replicates = np.zeros(resamples)
    for values in groups:
        picks = rng.integers(0, len(values), size=(resamples, len(values)))
        replicates += values[picks].mean(axis=1)
    replicates /= len(groups)
    low, high = np.percentile(replicates, [2.5, 97.5])
    return float(low), float(high)


def write_summary(scores: Sequence[Score], directory: Path, extra: dict[str, Any]) -> None:
    """``summary.csv`` (one row per score) and ``summary.json`` (rows plus ``extra``)."""
    records = [asdict(score) for score in scores]
    with (
        atomic_output(directory / "summary.csv") as partial,
        partial.open("w", encoding="utf-8", newline="") as handle,
    ):
        writer = csv.DictWriter(handle, fieldnames=list(Score.__dataclass_fields__))
        writer.writeheader()
        writer.writerows(records)
    text = json.dumps({"scores": records, **extra}, indent=1, ensure_ascii=False)
    with atomic_output(directory / "summary.json") as partial:
        partial.write_text(text + "\n", encoding="utf-8")


def _samples(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str, str], np.ndarray]:
    """0/1 outcomes per (model, setting, metric, language), in item order."""
    rows = sorted(rows, key=lambda row: row["item"])
    outcomes: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    reference = {(row["model"], row["item"]): row["choice"] for row in rows if _is_reference(row)}
    for row in rows:
        cell = (row["model"], row["setting"], row["axis"], row["language"])
        outcomes[cell].append(float(row["correct"]))
        english = reference.get((row["model"], row["item"]))
        if row["axis"] == "transfer" and row["language"] != REFERENCE and english is not None:
            cell = (row["model"], row["setting"], "consistency", row["language"])
            outcomes[cell].append(float(row["choice"] == english))
    return {cell: np.array(values) for cell, values in outcomes.items()}


def _is_reference(row: dict[str, Any]) -> bool:
    """An unsteered English transfer result: what consistency compares against."""
    return row["axis"] == "transfer" and row["language"] == REFERENCE and row["setting"] == BASELINE


def _score(model: str, setting: str, language: str, metric: str, groups: list[np.ndarray]) -> Score:
    seed = hashlib.sha256(f"{model}|{setting}|{language}|{metric}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(seed[:8], "little"))
    low, high = bootstrap_ci(groups, rng)
    return Score(
        model=model,
        setting=setting,
        language=language,
        metric=metric,
        score=float(np.mean([values.mean() for values in groups])),
        n=sum(len(values) for values in groups),
        ci_low=low,
        ci_high=high,
        languages=len(groups),
    )
