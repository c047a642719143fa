"""Everyday culture facts per country, from documented standards (``prompts/facts/``).

Each fact is asked in English without the country (what ``ask --lang L`` sends) and with the
country named (what the model knows: the ceiling a LOC method imitates). Answers are regular
expressions over the model's first answer line. The facts come from reference data, not from
what any model answers (``benchmarks/build_facts.py``):

- ``emergency``: libphonenumber's short-number metadata (emergency numbers);
- ``calling_code``: libphonenumber's country calling codes (ITU-T E.164);
- ``currency``: CLDR's territory currencies (ISO 4217 code, English name);
- ``language``: CLDR's official languages of the territory;
- ``domain``: the ISO 3166-1 alpha-2 code as the internet top-level domain;
- ``timezone``: the IANA time-zone database's zones of the country, UTC offset in January.

Each kind is asked in two phrasings. Splits are by kind, so a setting tuned on some kinds is
reported on others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from surgsteer_cli.datasets._io import load_shipped

TUNE_KINDS = ("emergency", "currency", "domain")
TEST_KINDS = ("calling_code", "language", "timezone")
KINDS = TUNE_KINDS + TEST_KINDS
SPLIT_KINDS = {"tune": TUNE_KINDS, "test": TEST_KINDS}


@dataclass(frozen=True)
class FactItem:
    """One fact about ``country`` (the profile language's BLEnD region)."""

    kind: str
    variant: int  # which phrasing of the kind's question
    language: str
    country: str
    question: str  # no country named
    question_named: str  # the same question naming the country
    patterns: tuple[str, ...]  # case-insensitive regular expressions; any one matching is right
    source: str

    @property
    def id(self) -> str:
        """A stable key: kind, phrasing and language."""
        return f"{self.kind}.{self.variant}:{self.language}"

    def is_right(self, answer: str) -> bool:
        """Whether ``answer`` states this fact."""
        return any(re.search(pattern, answer, re.IGNORECASE) for pattern in self.patterns)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> FactItem:
        """Parse one line of ``prompts/facts/facts.jsonl``."""
        return cls(**{**record, "patterns": tuple(record["patterns"])})


def load_facts(languages: list[str] | tuple[str, ...], split: str) -> dict[str, list[FactItem]]:
    """The shipped facts of ``split`` ("tune" or "test") for each of ``languages``."""
    kinds = SPLIT_KINDS[split]
    items = load_shipped("facts", "facts", FactItem.from_record)
    return {
        language: [item for item in items if item.language == language and item.kind in kinds]
        for language in languages
    }
