"""The culture facts: built from reference data, split by kind, matched by their patterns."""

from __future__ import annotations

import json

import pytest

from surgsteer_cli.datasets.facts import KINDS, SPLIT_KINDS, load_facts
from surgsteer_cli.paths import resource_dir

LANGUAGES = ("ko", "zh", "es", "id", "el", "fa", "ar", "az")


def fact(language: str, kind: str, variant: int = 0):
    split = next(name for name, kinds in SPLIT_KINDS.items() if kind in kinds)
    return next(
        item
        for item in load_facts(LANGUAGES, split)[language]
        if (item.kind, item.variant) == (kind, variant)
    )


def test_every_language_has_every_kind_in_two_phrasings_and_the_splits_share_no_kind() -> None:
    assert set(SPLIT_KINDS["tune"]).isdisjoint(SPLIT_KINDS["test"])
    for split, kinds in SPLIT_KINDS.items():
        for language, items in load_facts(LANGUAGES, split).items():
            assert sorted(item.id for item in items) == sorted(
                f"{kind}.{variant}:{language}" for kind in kinds for variant in (0, 1)
            ), (split, language)
            assert all(item.patterns for item in items)


def test_only_the_named_question_names_the_country() -> None:
    for kind in KINDS:
        for language in LANGUAGES:
            for variant in (0, 1):
                item = fact(language, kind, variant)
                assert item.country in item.question_named
                assert item.country not in item.question


@pytest.mark.parametrize(
    ("language", "kind", "answer", "right"),
    [
        ("ko", "emergency", "Korea's emergency number is 119.", True),
        ("ko", "emergency", "The number to call in an emergency is 911.", False),
        ("ko", "emergency", "Call 1120 for help.", False),
        ("fa", "emergency", "In an emergency, dial 911.", False),
        ("ko", "timezone", "Korea uses KST, UTC+9.", True),
        ("ko", "timezone", "UTC +09:00", True),
        ("ko", "timezone", "UTC+90", False),
        ("fa", "timezone", "Iran Standard Time is UTC+3:30.", True),
        ("fa", "timezone", "UTC+3", False),
        ("zh", "timezone", "China Standard Time (CST)", False),
        ("es", "currency", "People pay with the euro (EUR).", True),
        ("zh", "calling_code", "The code is +86.", True),
        ("zh", "calling_code", "The code is +886.", False),
        ("az", "domain", "Websites end with .az", True),
    ],
)
def test_answers_are_matched_by_the_facts_patterns(language, kind, answer, right) -> None:
    assert fact(language, kind).is_right(answer) == right


def test_the_shipped_facts_are_what_the_builder_makes_from_the_reference_data() -> None:
    from benchmarks.build_facts import facts

    shipped = (resource_dir("prompts") / "facts" / "facts.jsonl").read_text(encoding="utf-8")
    assert [json.loads(line) for line in shipped.splitlines()] == facts()
