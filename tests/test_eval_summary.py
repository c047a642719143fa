"""Summary math (accuracy, consistency, bootstrap intervals), summary files and the plane."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from surgsteer_cli.evaluation.plane import place_labels, points, save_png, terminal_plot
from surgsteer_cli.evaluation.summary import bootstrap_ci, summarize, write_summary

MODEL = "m"


def row(setting: str, language: str, axis: str, item: int, correct: bool, choice: int = 0):
    return {
        "model": MODEL,
        "setting": setting,
        "language": language,
        "axis": axis,
        "item": str(item),
        "correct": correct,
        "choice": choice,
    }


def cell(scores, setting, language, metric):
    [found] = [
        s for s in scores if (s.setting, s.language, s.metric) == (setting, language, metric)
    ]
    return found


def test_bootstrap_of_constant_outcomes_is_a_point() -> None:
    rng = np.random.default_rng(0)
    assert bootstrap_ci([np.ones(30)], rng) == (1.0, 1.0)


def test_bootstrap_interval_brackets_the_mean_and_narrows_with_more_items() -> None:
    rng = np.random.default_rng(1)
    small = np.array([1.0, 0.0] * 10)
    large = np.array([1.0, 0.0] * 500)
    low_s, high_s = bootstrap_ci([small], rng)
    low_l, high_l = bootstrap_ci([large], rng)
    assert low_s < 0.5 < high_s and low_l < 0.5 < high_l
    assert high_l - low_l < (high_s - low_s) / 3
    # The normal approximation for a proportion: half-width about 1.96 * sqrt(p(1-p)/n).
    assert high_l - low_l == pytest.approx(2 * 1.96 * np.sqrt(0.25 / 1000), rel=0.2)


def test_all_is_the_mean_of_language_means_not_of_items() -> None:
    rows = [row("none", "ko", "transfer", i, True) for i in range(2)]
    rows += [row("none", "zh", "transfer", i, i < 2) for i in range(8)]
    scores = summarize(rows)
    assert cell(scores, "none", "ko", "transfer").score == 1.0
    assert cell(scores, "none", "zh", "transfer").score == 0.25
    overall = cell(scores, "none", "all", "transfer")
    assert overall.score == pytest.approx(0.625)  # pooled items would give 0.4
    assert (overall.n, overall.languages) == (10, 2)
    assert overall.ci_low <= 0.625 <= overall.ci_high


def test_english_is_the_reference_not_part_of_transfer() -> None:
    rows = [row("none", "en", "transfer", i, True, choice=1) for i in range(4)]
    rows += [row("none", "ko", "transfer", i, False, choice=1 if i < 3 else 2) for i in range(4)]
    rows += [row("surgical", "ko", "transfer", i, True, choice=1) for i in range(4)]
    scores = summarize(rows)
    assert cell(scores, "none", "en", "transfer").score == 1.0
    assert cell(scores, "none", "all", "transfer").score == 0.0
    assert cell(scores, "none", "ko", "consistency").score == 0.75
    assert cell(scores, "surgical", "ko", "consistency").score == 1.0
    assert not [s for s in scores if s.language == "en" and s.metric == "consistency"]


def test_scores_do_not_depend_on_row_order() -> None:
    rng = np.random.default_rng(2)
    rows = [
        row("none", lang, "localization", i, bool(rng.random() < 0.4))
        for lang in ("ko", "zh")
        for i in range(25)
    ]
    forward, backward = summarize(rows), summarize(list(reversed(rows)))
    assert sorted(forward, key=repr) == sorted(backward, key=repr)


def test_scores_are_listed_in_request_order() -> None:
    rows = [row(setting, "ko", "transfer", 0, True) for setting in ("none", "surgical", "en-mid")]
    assert [s.setting for s in summarize(rows) if s.language == "all"] == [
        "none",
        "surgical",
        "en-mid",
    ]


def test_summary_files(tmp_path: Path) -> None:
    rows = [
        row("none", "ko", axis, i, i % 2 == 0)
        for axis in ("transfer", "localization")
        for i in range(6)
    ]
    scores = summarize(rows)
    write_summary(scores, tmp_path, {"run": {"split": "test"}})
    with (tmp_path / "summary.csv").open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == len(scores)
    assert {r["metric"] for r in table} == {"transfer", "localization"}
    assert {"score", "n", "ci_low", "ci_high"} <= set(table[0])
    record = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert record["run"] == {"split": "test"}
    assert [s["score"] for s in record["scores"]] == [float(r["score"]) for r in table]


def plane_rows():
    rows = []
    for setting, t_rate, l_rate in (
        ("none", 0.2, 0.5),
        ("en-mid", 0.6, 0.4),
        ("surgical", 0.6, 0.4),
    ):
        for lang in ("ko", "zh"):
            rows += [row(setting, lang, "transfer", i, i < t_rate * 10) for i in range(10)]
            rows += [row(setting, lang, "localization", i, i < l_rate * 10) for i in range(10)]
    return rows


def test_plane_png_is_written(tmp_path: Path) -> None:
    scores = summarize(plane_rows())
    path = save_png(scores, tmp_path / "plane.png", languages=["ko", "zh"])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.setting for p in points(scores)] == ["none", "en-mid", "surgical"]


def test_labels_of_nearby_points_do_not_overlap() -> None:
    """Points closer than a label's size (as en-mid and surgical on the full-size plane) get
    their labels on different sides."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 6), dpi=150)
    spots = {(0.2506, 0.0983): ["surgical"], (0.2518, 0.0984): ["en-mid"], (0.21, 0.08): ["x"]}
    ax.scatter([x for x, _ in spots], [y for _, y in spots])
    labels = place_labels(ax, spots)
    renderer = fig.canvas.get_renderer()
    boxes = [label.get_window_extent(renderer) for label in labels]
    plt.close(fig)
    assert [label.get_text() for label in labels] == ["surgical", "en-mid", "x"]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_terminal_plot_names_every_point() -> None:
    text = terminal_plot(summarize(plane_rows()))
    assert "Transfer" in text and "Localization" in text
    assert "B  en-mid: Transfer 0.600, Localization 0.400" in text
    assert "A  none" in text and "C  surgical" in text
    assert "*" in text  # en-mid and surgical coincide


def test_outputs_are_replaced_whole_or_not_at_all(tmp_path) -> None:
    """What a kill mid-write would leave: the old file, never a half-written one."""
    from surgsteer_cli.paths import atomic_output

    target = tmp_path / "summary.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(target) as partial:
        partial.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == [target.name]
    with atomic_output(target) as partial:
        partial.write_text("new")
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == [target.name]


def test_concurrent_writers_get_their_own_partial_files(tmp_path) -> None:
    from surgsteer_cli.paths import atomic_output

    target = tmp_path / "model.gguf"
    with atomic_output(target) as first, atomic_output(target) as second:
        assert first != second
        first.write_text("first")
        second.write_text("second")
    assert target.read_text() == "first"  # the last rename wins: the outer block's
    assert target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_killed_writers_partial_file_is_removed_by_the_next_write(tmp_path) -> None:
    """SIGKILL mid-write leaves ``.name.<pid>.xxx.partial``; the next write of the same file
    removes it when that process is gone, and leaves a live writer's file alone."""
    from surgsteer_cli.paths import atomic_output

    target = tmp_path / "plane.png"
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    orphan = tmp_path / f".plane.png.{gone}.k2j4.partial"
    live = tmp_path / f".plane.png.{os.getpid()}.a1b2.partial"
    other = tmp_path / f".other.png.{gone}.k2j4.partial"
    for leftover in (orphan, live, other):
        leftover.write_text("half")
    with atomic_output(target) as partial:
        partial.write_text("whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [target.name, live.name, other.name]
    )
