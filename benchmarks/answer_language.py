"""In which language does each setting answer? The share of Localization answers detected as
English, per model, language, measure (``loc``: question in L; ``loc-en``: English question)
and setting, from an eval run, with the correct answers among them.

EN steering can switch the answer language; the soft match also accepts the annotators' English
answers, so a Localization change under EN steering may come from answering in English rather
than from knowing more. Run after ``surgsteer eval``:

    python benchmarks/answer_language.py runs/full/results.jsonl
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.result_rows import read_rows  # noqa: E402
from surgsteer_cli import langid  # noqa: E402

Cell = tuple[str, str, str, str]  # model, language, axis, setting
AXES = {"localization": "loc", "localization-en": "loc-en"}


def tally(path: Path) -> tuple[Counter[Cell], Counter[Cell], Counter[Cell], Counter[Cell]]:
    """Per cell: answers, answers detected as English, correct answers, correct English ones."""
    answers: Counter[Cell] = Counter()
    english: Counter[Cell] = Counter()
    correct: Counter[Cell] = Counter()
    correct_english: Counter[Cell] = Counter()
    for row in read_rows(path):
        if row.get("axis") not in AXES:
            continue
        cell = (row["model"], row["language"], AXES[row["axis"]], row["setting"])
        detected = langid.detect(row["prediction"], ["en", row["language"]]).language
        answers[cell] += 1
        english[cell] += detected == "en"
        correct[cell] += bool(row["correct"])
        correct_english[cell] += bool(row["correct"]) and detected == "en"
    return answers, english, correct, correct_english


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    answers, english, correct, correct_english = tally(parser.parse_args().results)
    settings = list(dict.fromkeys(setting for *_, setting in answers))
    print("English answers (correct: all / in English)")
    print("| model | lang | measure | " + " | ".join(settings) + " |")
    print("|---|---|---|" + "---|" * len(settings))
    for model, language, axis in sorted({cell[:3] for cell in answers}):
        cells = []
        for setting in settings:
            cell = (model, language, axis, setting)
            if not answers[cell]:
                cells.append("—")
                continue
            share = english[cell] / answers[cell]
            cells.append(f"{share:.0%} ({correct[cell]} / {correct_english[cell]})")
        print(f"| {model} | {language} | {axis} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
