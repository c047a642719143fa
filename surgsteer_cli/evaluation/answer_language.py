"""In which language does each setting answer? The share of Localization answers detected as
English, per model, language, measure (``loc``: question in L; ``loc-en``: English question)
and setting, with the correct answers among them.

EN steering can switch the answer language; the soft match also accepts the annotators' English
answers, so a Localization change under EN steering may come from answering in English rather
than from knowing more. ``surgsteer eval`` writes the table to ``answer-language.md``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from surgsteer_cli import langid

AXES = {"localization": "loc", "localization-en": "loc-en"}
"""The Localization axes counted, and their short names."""

Cell = tuple[str, str, str, str]
"""model, language, measure (``loc`` or ``loc-en``), setting."""


def in_english(answer: str, language: str) -> bool:
    """Whether ``answer`` (to a question about ``language``) is detected as English rather
    than as ``language``."""
    return langid.detect(answer, ["en", language]).language == "en"


@dataclass
class Tally:
    """Per cell: answers, answers in English, correct answers, correct answers in English."""

    answers: Counter[Cell] = field(default_factory=Counter)
    english: Counter[Cell] = field(default_factory=Counter)
    correct: Counter[Cell] = field(default_factory=Counter)
    correct_english: Counter[Cell] = field(default_factory=Counter)

    def share(self, cell: Cell) -> float | None:
        """The share of ``cell``'s answers in English (None: no answers)."""
        return self.english[cell] / self.answers[cell] if self.answers[cell] else None


def tally(rows: Iterable[dict[str, Any]]) -> Tally:
    """Count the Localization rows of an eval run."""
    counts = Tally()
    for row in rows:
        if row.get("axis") not in AXES:
            continue
        cell = (row["model"], row["language"], AXES[row["axis"]], row["setting"])
        english = in_english(row["prediction"], row["language"])
        counts.answers[cell] += 1
        counts.english[cell] += english
        counts.correct[cell] += bool(row["correct"])
        counts.correct_english[cell] += bool(row["correct"]) and english
    return counts


def markdown(counts: Tally) -> str:
    """The table: a line per model, language and measure, a column per setting."""
    settings = list(dict.fromkeys(setting for *_, setting in counts.answers))
    lines = [
        "English answers (correct: all / in English)",
        "| model | lang | measure | " + " | ".join(settings) + " |",
        "|---|---|---|" + "---|" * len(settings),
    ]
    for model, language, axis in sorted({cell[:3] for cell in counts.answers}):
        cells = []
        for setting in settings:
            cell = (model, language, axis, setting)
            share = counts.share(cell)
            if share is None:
                cells.append("—")
                continue
            cells.append(f"{share:.0%} ({counts.correct[cell]} / {counts.correct_english[cell]})")
        lines.append(f"| {model} | {language} | {axis} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
