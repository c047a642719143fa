"""The verdict (surgical against each baseline, per language and pooled) and the answer-language
table that ``surgsteer eval`` writes next to its summary, on hand-made result rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from surgsteer_cli.evaluation import answer_language, verdict
from surgsteer_cli.evaluation.runner import write_tables
from surgsteer_cli.evaluation.verdict import Difference, item_cells, passes, verdicts

ITEMS = 20
KOREAN_ANSWER = "한국의 긴급 전화번호는 112입니다."
ENGLISH_ANSWER = "The emergency number in Korea is 112."


def rows(language: str, setting: str, axis: str, right: int) -> list[dict[str, object]]:
    """ITEMS rows of which the first ``right`` are correct."""
    return [
        {
            "model": "m",
            "setting": setting,
            "language": language,
            "axis": axis,
            "item": str(item),
            "correct": item < right,
        }
        for item in range(ITEMS)
    ]


def run(language: str, surgical: dict[str, int], baselines: dict[str, int]) -> list[dict]:
    """Rows of one language: surgical right on ``surgical[axis]`` items, en-all and en-mid on
    ``baselines["transfer"]`` Transfer items, none on ``baselines["localization"]``."""
    found = []
    for axis in ("transfer", "localization"):
        found += rows(language, "surgical", axis, surgical[axis])
    found += rows(language, "en-all", "transfer", baselines["transfer"])
    found += rows(language, "en-mid", "transfer", baselines["transfer"])
    found += rows(language, "none", "localization", baselines["localization"])
    return found


def row_of(results: list[dict], language: str) -> verdict.Verdict:
    return next(row for row in verdicts(item_cells(results)) if row.language == language)


def test_a_language_passes_when_never_below_and_surely_above_once() -> None:
    results = run("ko", {"transfer": 10, "localization": 15}, {"transfer": 10, "localization": 5})
    row = row_of(results, "ko")
    assert [d.mean for d in row.differences] == [0.0, 0.0, 0.5]
    assert row.differences[2].low > 0
    assert row.passed


def test_a_language_below_one_baseline_fails_even_when_surely_above_another() -> None:
    results = run("ko", {"transfer": 8, "localization": 15}, {"transfer": 10, "localization": 5})
    row = row_of(results, "ko")
    assert row.differences[0].mean < 0 and row.differences[2].low > 0
    assert not row.passed


def test_a_tie_everywhere_fails() -> None:
    results = run("ko", {"transfer": 10, "localization": 5}, {"transfer": 10, "localization": 5})
    row = row_of(results, "ko")
    assert all(d.mean == 0 and d.low == 0 for d in row.differences)
    assert not row.passed


def test_above_on_average_but_not_beyond_the_interval_fails() -> None:
    results = run("ko", {"transfer": 10, "localization": 6}, {"transfer": 10, "localization": 5})
    row = row_of(results, "ko")
    assert row.differences[2].mean > 0 and row.differences[2].low <= 0
    assert not row.passed


@pytest.mark.parametrize(
    ("means", "lows", "passed"),
    [
        ([0.0, 0.1], [-0.1, 0.01], True),
        ([0.0, 0.0], [0.0, 0.0], False),
        ([-0.01, 0.3], [-0.1, 0.2], False),
        ([], [], False),
    ],
)
def test_the_rule(means: list[float], lows: list[float], passed: bool) -> None:
    differences = [
        Difference("transfer", "none", mean, low, 1.0)
        for mean, low in zip(means, lows, strict=True)
    ]
    assert passes(differences) is passed


def test_the_pooled_row_is_the_mean_of_the_languages() -> None:
    results = run("ko", {"transfer": 10, "localization": 15}, {"transfer": 10, "localization": 5})
    results += run("es", {"transfer": 10, "localization": 5}, {"transfer": 10, "localization": 5})
    pooled = row_of(results, "all")
    assert pooled.differences[2].mean == pytest.approx(0.25)
    assert [row.language for row in verdicts(item_cells(results))] == ["es", "ko", "all"]


def test_a_comparison_a_language_lacks_is_left_out_of_its_verdict() -> None:
    results = run("ko", {"transfer": 10, "localization": 15}, {"transfer": 10, "localization": 5})
    results = [row for row in results if row["setting"] != "en-mid"]
    row = row_of(results, "ko")
    assert row.differences[1] is None and row.passed
    assert "| m | ko | +0.000 [+0.000, +0.000] | — | +0.500 [" in verdict.markdown(
        item_cells(results)
    )


def answers(language: str, setting: str, texts: list[str], right: int) -> list[dict]:
    return [
        {
            "model": "m",
            "setting": setting,
            "language": language,
            "axis": "localization",
            "item": str(item),
            "prediction": text,
            "correct": item < right,
        }
        for item, text in enumerate(texts)
    ]


def test_answer_language_counts_the_english_answers_and_the_right_ones_among_them() -> None:
    results = answers("ko", "none", [KOREAN_ANSWER] * 3, right=1)
    results += answers("ko", "en-all", [ENGLISH_ANSWER] * 3 + [KOREAN_ANSWER], right=2)
    counts = answer_language.tally(results)
    assert counts.share(("m", "ko", "loc", "none")) == 0
    assert counts.share(("m", "ko", "loc", "en-all")) == 0.75
    assert counts.correct_english[("m", "ko", "loc", "en-all")] == 2
    assert "| m | ko | loc | 0% (1 / 0) | 75% (2 / 2) |" in answer_language.markdown(counts)


def test_eval_writes_the_tables_next_to_the_summary(tmp_path: Path) -> None:
    results = run("ko", {"transfer": 10, "localization": 15}, {"transfer": 10, "localization": 5})
    for row in results:
        row["prediction"] = KOREAN_ANSWER
    written = write_tables(results, tmp_path)
    assert written == [tmp_path / "verdict.md", tmp_path / "answer-language.md"]
    assert "| m | ko |" in (tmp_path / "verdict.md").read_text()
    assert (tmp_path / "verdict.md").read_text().splitlines()[-1].endswith("| pass |")
    unsteered_only = [row for row in results if row["setting"] == "none"]
    (tmp_path / "none").mkdir()
    assert write_tables(unsteered_only, tmp_path / "none") == [
        tmp_path / "none" / "answer-language.md"
    ]
