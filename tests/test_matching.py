"""Normalization and BLEnD-style soft matching, checked on hand-made cases and real answers."""

from __future__ import annotations

import pytest

from surgsteer_cli.datasets.blend import load_blend
from surgsteer_cli.evaluation.matching import normalize, soft_match


@pytest.fixture(scope="module")
def answers() -> list[tuple[str, str]]:
    """Every (answer, language) pair of BLEnD's annotators, local and English."""
    pairs = []
    for item in load_blend():
        pairs += [(answer, item.language) for answer in item.answers]
        pairs += [(answer, "en") for answer in item.answers_en]
    return pairs


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("ＦＣ　서울！", "ko", "fc 서울"),  # full-width letters, space and punctuation
        ("١٢ و ۱۲ و ১২", "ar", "12 و 12 و 12"),  # Arabic-Indic, Persian, Bengali digits
        ("Fútbol, ¿verdad?", "es", "futbol verdad"),
        ("Ελληνικός ΚΑΦΈΣ", "el", "ελληνικοσ καφεσ"),
        ("İSTANBUL və Işıq", "az", "istanbul və ısıq"),  # dotted/dotless i; cedilla dropped
        ("کتاب روزبهانی", "fa", "كتاب روزبهاني"),  # Persian keheh and yeh -> Arabic letters
        ("رستوران\u200cها", "fa", "رستوران ها"),  # half-space
        ("الْقَمْحُ  أو إِبل", "ar", "القمح او ابل"),  # diacritics and hamza forms
        ("মাছৰ টেঙা", "as", "মাছৰ টেঙা"),  # Assamese vowel signs are kept
        ("  stir-fried   pork  ", "en", "stir fried pork"),
    ],
)
def test_normalize(text: str, language: str, expected: str) -> None:
    assert normalize(text, language) == expected


def test_normalize_is_idempotent_on_real_answers(answers: list[tuple[str, str]]) -> None:
    for answer, language in answers:
        once = normalize(answer, language)
        assert normalize(once, language) == once, answer


def test_every_real_answer_is_found_in_a_sentence_containing_it(
    answers: list[tuple[str, str]],
) -> None:
    """Only single-letter answers are ignored, and they are rare."""
    missed = [
        (answer, language)
        for answer, language in answers
        if not soft_match(f"Answer: {answer}.", [answer], language)
    ]
    assert all(len(normalize(answer, language)) == 1 for answer, language in missed)
    assert len(missed) < 0.001 * len(answers)


@pytest.mark.parametrize(
    ("prediction", "answer", "language"),
    [
        ("치킨이요!", "치킨", "ko"),  # particle glued on
        ("결혼반지를 주고받아요", "결혼 반지", "ko"),  # spacing differs
        ("FC서울 대 수원 삼성", "FC 서울", "ko"),
        ("我觉得是烤鸭。", "烤鸭", "zh"),
        ("Fried chicken, mostly", "fried chicken", "en"),
        ("Peanuts", "peanut", "en"),
        ("a cherry", "cherries", "en"),
        ("fútbol", "futbol", "es"),
        ("قمح", "القمح", "ar"),
        ("يأكلون الحلوى", "حلوى", "ar"),
        ("۱۲", "12", "fa"),
        ("Usually 12:00.", "12:00", "en"),
        ("ΠΟΔΌΣΦΑΙΡΟ", "ποδόσφαιρο", "el"),
        ("Çay", "çay", "az"),
    ],
)
def test_soft_match_finds(prediction: str, answer: str, language: str) -> None:
    assert soft_match(prediction, [answer], language)


@pytest.mark.parametrize(
    ("prediction", "answer", "language"),
    [
        ("price", "rice", "en"),  # whole words only in spaced scripts
        ("I think 12.", "2", "en"),
        ("12월", "2월", "ko"),  # numbers stay whole in unspaced scripts too
        ("2023年", "202", "zh"),
        ("a banana", "a", "en"),  # a single letter is too trivial to count
        ("anything", "", "en"),
        ("teh hangat", "kopi", "id"),
        ("chicken", "chickpea", "en"),
    ],
)
def test_soft_match_rejects(prediction: str, answer: str, language: str) -> None:
    assert not soft_match(prediction, [answer], language)


def test_soft_match_needs_only_one_answer() -> None:
    assert soft_match("김치찌개", ["된장찌개", "김치찌개"], "ko")
    assert not soft_match("김치찌개", [], "ko")


def test_single_han_or_hangul_answer_counts() -> None:
    assert soft_match("밥이랑 국", ["국"], "ko")
    assert soft_match("喝茶", ["茶"], "zh")
