"""BMLAMA-53: parallel cloze facts (same fact, same row, in nine languages).

Source: Qi, Fernández and Bisazza, "Cross-Lingual Consistency of Factual Knowledge in
Multilingual Language Models" (EMNLP 2023), Apache-2.0. Facts from mLAMA / X-FACTR.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from surgsteer_cli.datasets._io import load_shipped, read_table, require_file
from surgsteer_cli.errors import DataError

LANGUAGES = ("en", "ko", "zh", "es", "id", "el", "fa", "ar", "az")
MASK = "<mask>"
_COLUMNS = ("Prompt", "Ans", "Candidate Ans")
_CANDIDATE_SEPARATOR = ", "


@dataclass(frozen=True)
class ClozeItem:
    """One cloze fact in one language: fill ``<mask>`` in ``prompt`` with a candidate."""

    row: int  # row number in the original BMLAMA file: the same fact in every language
    language: str
    prompt: str  # contains exactly one "<mask>"
    answer: str
    candidates: tuple[str, ...]  # shuffled (seeded by row), contains answer, >= 2

    def to_record(self) -> dict[str, Any]:
        """The JSON-ready form written to ``prompts/bmlama/<lang>.jsonl``."""
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ClozeItem:
        """Inverse of :meth:`to_record`."""
        return cls(**{**record, "candidates": tuple(record["candidates"])})


def load_bmlama(
    languages: Iterable[str], directory: Path | None = None
) -> dict[str, list[ClozeItem]]:
    """Load BMLAMA cloze items per language, in row order.

    ``directory=None`` reads the processed files shipped in ``prompts/bmlama/``; a directory
    is read in BMLAMA's layout: ``<lang>.tsv`` (header ``Prompt, Ans, Candidate Ans,
    Subject``) and an optional ``rows.txt`` with each line's original row number (without it,
    the row is the line's 0-based index). Rows with a single candidate, without exactly one
    ``<mask>``, or whose answer is not a candidate are dropped.
    """
    chosen = list(languages)
    unknown = [language for language in chosen if language not in LANGUAGES]
    if unknown:
        raise DataError(
            f"unknown BMLAMA language(s) {', '.join(unknown)}; known: {', '.join(LANGUAGES)}"
        )
    if directory is None:
        return {
            language: load_shipped("bmlama", language, ClozeItem.from_record) for language in chosen
        }
    directory = Path(directory)
    return {language: _load_original(directory, language) for language in chosen}


def shuffled_candidates(candidates: Iterable[str], row: int) -> tuple[str, ...]:
    """``candidates`` in a fixed pseudo-random order that depends only on ``row``.

    The source always lists the correct answer last; shuffling hides that, and seeding by
    row keeps the same fact's options in the same order in every language.
    """
    ordered = list(candidates)
    random.Random(row).shuffle(ordered)
    return tuple(ordered)


def _load_original(directory: Path, language: str) -> list[ClozeItem]:
    path = require_file(directory / f"{language}.tsv", "BMLAMA layout expects <lang>.tsv")
    table = read_table(path, _COLUMNS, tsv=True)
    rows = _row_numbers(directory, len(table))
    items = []
    for row, line in zip(rows, table, strict=True):
        candidates = [c.strip() for c in (line["Candidate Ans"] or "").split(_CANDIDATE_SEPARATOR)]
        prompt, answer = (line["Prompt"] or "").strip(), (line["Ans"] or "").strip()
        if prompt.count(MASK) != 1 or len(set(candidates)) < 2 or answer not in candidates:
            continue
        items.append(
            ClozeItem(
                row=row,
                language=language,
                prompt=prompt,
                answer=answer,
                candidates=shuffled_candidates(dict.fromkeys(candidates), row),
            )
        )
    return items


def _row_numbers(directory: Path, count: int) -> list[int]:
    path = directory / "rows.txt"
    if not path.is_file():
        return list(range(count))
    try:
        rows = [int(line) for line in path.read_text(encoding="utf-8").split()]
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: expected one row number per line ({exc})") from exc
    if len(rows) != count:
        raise DataError(f"{path} lists {len(rows)} rows but the TSV files have {count}")
    return rows
