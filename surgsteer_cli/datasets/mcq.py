"""Multiple-choice questions (Global-MMLU style) for instruction-tuned models.

Layout: one file per language in a directory, ``<lang>.csv`` or ``<lang>.jsonl``, with the
fields ``question, option_a, option_b, option_c, option_d, answer`` (Global-MMLU's own column
names) and optionally ``id`` (or Global-MMLU's ``sample_id``). ``answer`` is the letter of the
correct option, ``A`` to ``D``. Without an id, items are named ``<lang>-<line index>``.

``from_cloze`` turns parallel BMLAMA facts into such questions: the cloze sentence with a
blank, the gold answer and three other candidates of the same row, in an order seeded by the
row, so every language gets the same item, the same options and the same option order.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from surgsteer_cli.datasets._io import read_jsonl, read_table
from surgsteer_cli.datasets.bmlama import MASK, ClozeItem
from surgsteer_cli.errors import DataError

LETTERS = ("A", "B", "C", "D")
_OPTION_FIELDS = ("option_a", "option_b", "option_c", "option_d")
_REQUIRED = ("question", *_OPTION_FIELDS, "answer")
_SUFFIXES = (".csv", ".jsonl")
BLANK = "___"


@dataclass(frozen=True)
class McqItem:
    """One four-option question; ``answer`` is the correct option's letter."""

    id: str
    language: str
    question: str
    options: tuple[str, str, str, str]
    answer: str  # "A".."D"


def load_mcq(directory: Path, languages: Iterable[str] | None = None) -> dict[str, list[McqItem]]:
    """Load ``<lang>.csv``/``<lang>.jsonl`` files from ``directory`` (default: every one there)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"multiple-choice directory {directory} not found")
    chosen = sorted({p.stem for p in directory.iterdir() if p.suffix in _SUFFIXES})
    if languages is not None:
        chosen = list(languages)
    if not chosen:
        raise DataError(f"{directory} holds no <lang>.csv or <lang>.jsonl files")
    return {language: _load_language(directory, language) for language in chosen}


def _load_language(directory: Path, language: str) -> list[McqItem]:
    found = [directory / f"{language}{suffix}" for suffix in _SUFFIXES]
    found = [path for path in found if path.is_file()]
    if len(found) != 1:
        found_what = "both" if found else "neither"
        raise DataError(f"{directory}: need one of {language}.csv, {language}.jsonl: {found_what}")
    path = found[0]
    records = read_table(path, _REQUIRED) if path.suffix == ".csv" else list(read_jsonl(path))
    return [_make_item(path, language, index, record) for index, record in enumerate(records)]


def _make_item(path: Path, language: str, index: int, record: dict[str, Any]) -> McqItem:
    missing = [field for field in _REQUIRED if not str(record.get(field) or "").strip()]
    if missing:
        raise DataError(f"{path}: item {index} lacks {', '.join(missing)}")
    answer = str(record["answer"]).strip().upper()
    if answer not in LETTERS:
        raise DataError(f"{path}: item {index} has answer {record['answer']!r}, expected A-D")
    a, b, c, d = (str(record[field]).strip() for field in _OPTION_FIELDS)
    item_id = record.get("id") or record.get("sample_id") or f"{language}-{index}"
    return McqItem(
        id=str(item_id),
        language=language,
        question=str(record["question"]).strip(),
        options=(a, b, c, d),
        answer=answer,
    )


def from_cloze(cloze: Mapping[str, Sequence[ClozeItem]]) -> dict[str, list[McqItem]]:
    """Four-option questions from the BMLAMA rows that every language in ``cloze`` has with
    the same number of candidates (at least four) and the gold at the same position."""
    by_row = [{item.row: item for item in items} for items in cloze.values()]
    rows = sorted(set.intersection(*(set(rows) for rows in by_row)))
    questions: dict[str, list[McqItem]] = {language: [] for language in cloze}
    for row in rows:
        items = [found[row] for found in by_row]
        shapes = {(len(i.candidates), i.candidates.index(i.answer)) for i in items}
        if len(shapes) != 1 or len(items[0].candidates) < len(LETTERS):
            continue
        count, gold = shapes.pop()
        rng = random.Random(f"mcq:{row}")
        picked = [gold, *rng.sample([i for i in range(count) if i != gold], len(LETTERS) - 1)]
        rng.shuffle(picked)
        for language, item in zip(cloze, items, strict=True):
            questions[language].append(
                McqItem(
                    id=f"mcq:{row}",
                    language=language,
                    question=item.prompt.replace(MASK, BLANK),
                    options=tuple(item.candidates[i] for i in picked),  # type: ignore[arg-type]
                    answer=LETTERS[picked.index(gold)],
                )
            )
    return questions
