"""Shares of the prompt ceiling's gain and known-facts Localization, from result rows."""

from __future__ import annotations

import pytest

from surgsteer_cli.evaluation.ceiling import ceiling_shares

ITEMS = "abcdefghij"


def rows(language: str, setting: str, right: str, axis: str = "localization-en") -> list[dict]:
    return [
        {
            "model": "m",
            "setting": setting,
            "language": language,
            "axis": axis,
            "item": item,
            "correct": item in right,
        }
        for item in ITEMS
    ]


def by_setting(shares, language: str = "ko") -> dict:
    return {share.setting: share for share in shares if share.language == language}


def test_share_is_the_gain_over_none_divided_by_the_ceilings_gain() -> None:
    result = by_setting(
        ceiling_shares(
            rows("ko", "none", "ab") + rows("ko", "prompt", "abcdef") + rows("ko", "loc", "abc")
        )
    )
    loc = result["loc"]
    assert loc.gain == pytest.approx(0.1)
    assert loc.ceiling_gain == pytest.approx(0.4)
    assert loc.share == pytest.approx(0.25)
    assert loc.share_low <= 0.25 <= loc.share_high
    assert loc.gain_low <= 0.1 <= loc.gain_high
    assert (loc.known, loc.known_n) == (pytest.approx(0.5), 6)  # c of a-f, besides a, b
    assert result["none"].known == pytest.approx(2 / 6)
    assert "prompt" not in result


def test_a_setting_that_only_adds_wrong_answers_has_no_gain_and_no_share() -> None:
    result = by_setting(
        ceiling_shares(rows("ko", "none", "ab") + rows("ko", "prompt", "ab") + rows("ko", "x", "a"))
    )
    assert result["x"].share is None  # the ceiling gains nothing: no share to speak of
    assert result["x"].gain == pytest.approx(-0.1)


def test_pooled_share_weights_each_language_alike() -> None:
    all_rows = []
    for language, loc in (("ko", "abc"), ("es", "abcdef")):
        all_rows += rows(language, "none", "ab") + rows(language, "prompt", "abcdef")
        all_rows += rows(language, "loc", loc)
    pooled = by_setting(ceiling_shares(all_rows), "all")["loc"]
    assert pooled.share == pytest.approx((0.1 + 0.4) / 2 / 0.4)
    assert pooled.known_n == 12
    assert pooled.known == pytest.approx((3 + 6) / 12)


def test_without_prompt_rows_there_is_nothing_to_compare() -> None:
    assert ceiling_shares(rows("ko", "none", "ab") + rows("ko", "loc", "abc")) == []
