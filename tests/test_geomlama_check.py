"""GeoMLAMA's China and Iran questions lose their country before they are asked."""

from __future__ import annotations

import pytest

from benchmarks.geomlama_check import load_rows, neutralize


@pytest.mark.parametrize(
    ("question", "neutral"),
    [
        ("What is the staple food in China?", "What is the staple food?"),
        (
            "Which side do people usually keep when driving in the Iran?",
            "Which side do people usually keep when driving?",
        ),
        (
            "In China, is it rare or common that customers pay tips after a meal?",
            "Is it rare or common that customers pay tips after a meal?",
        ),
        ("How do Iranian people dry their wet clothes?", "How do people dry their wet clothes?"),
        (
            "Does an Iranian wedding ceremony last for more than one day?",
            "Does a wedding ceremony last for more than one day?",
        ),
        (
            "Which climate zone does China belong to?",
            "Which climate zone does this country belong to?",
        ),
    ],
)
def test_the_country_is_removed(question: str, neutral: str) -> None:
    country, adjective = ("China", "Chinese") if "Chin" in question else ("Iran", "Iranian")
    assert neutralize(question, country, adjective) == neutral


def test_every_china_and_iran_row_is_asked_without_its_country(shared_data) -> None:
    rows = load_rows(shared_data / "geomlama")
    assert {row.language for row in rows} == {"zh", "fa"} and len(rows) >= 40
    for row in rows:
        assert not any(name in row.neutral for name in ("China", "Chinese", "Iran", "Iranian"))
        assert row.answers <= set(row.candidates), row
