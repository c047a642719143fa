"""The Transfer–Localization plane: one point per (model, setting), as a PNG and as text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from surgsteer_cli.evaluation.selection import REFERENCE
from surgsteer_cli.evaluation.summary import ALL, BASELINE, Score
from surgsteer_cli.paths import atomic_output
from surgsteer_cli.untrusted import printable

MARKERS = "osD^vP*Xph<>"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # terminal plot points


@dataclass(frozen=True)
class Point:
    """A (model, setting) on the plane, with its 95 % intervals."""

    model: str
    setting: str
    transfer: Score
    localization: Score


LOCALIZATION_LABELS = {
    "localization": "BLEnD soft-match accuracy, question in its language (country-neutral)",
    "localization-en": "BLEnD soft-match accuracy, English question, local profile",
    "localization-facts": "culture facts right, English question without the country",
}
PLANE_FILES = {
    "localization": "plane.png",
    "localization-en": "plane-en.png",
    "localization-facts": "plane-facts.png",
}


def localization_metrics(scores: Sequence[Score]) -> list[str]:
    """The Localization measures present in ``scores``, native first."""
    present = {s.metric for s in scores}
    return [metric for metric in LOCALIZATION_LABELS if metric in present]


def points(scores: Sequence[Score], localization: str = "localization") -> list[Point]:
    """Every (model, setting) that has both ``all`` scores, in summary order; the y axis is
    the ``localization`` metric."""
    cells = {(s.model, s.setting, s.metric): s for s in scores if s.language == ALL}
    found = []
    for (model, setting, metric), transfer in cells.items():
        localization_score = cells.get((model, setting, localization))
        if metric == "transfer" and localization_score is not None:
            found.append(Point(model, setting, transfer, localization_score))
    return found


def references(scores: Sequence[Score]) -> dict[str, Score]:
    """Unsteered English transfer per model."""
    return {
        s.model: s
        for s in scores
        if s.metric == "transfer" and s.language == REFERENCE and s.setting == BASELINE
    }


def save_png(
    scores: Sequence[Score],
    path: Path,
    *,
    languages: Sequence[str],
    transfer_measure: str = "cloze accuracy",
    localization: str = "localization",
) -> Path:
    """Draw the plane (y: the ``localization`` metric): colour per setting, marker per model,
    95 % intervals as error bars; each spot is labelled with the settings that land on it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    plotted = points(scores, localization)
    models = list(dict.fromkeys(p.model for p in plotted))
    settings = list(dict.fromkeys(p.setting for p in plotted))
    colors = plt.get_cmap("tab10" if len(settings) <= 10 else "tab20")
    fig, ax = plt.subplots(figsize=(8, 6), dpi=150)
    for p in plotted:
        color = colors(settings.index(p.setting) % colors.N)
        ax.errorbar(
            p.transfer.score,
            p.localization.score,
            xerr=[[p.transfer.score - p.transfer.ci_low], [p.transfer.ci_high - p.transfer.score]],
            yerr=[
                [p.localization.score - p.localization.ci_low],
                [p.localization.ci_high - p.localization.score],
            ],
            fmt=MARKERS[models.index(p.model) % len(MARKERS)],
            color=color,
            markersize=8,
            capsize=3,
            elinewidth=1,
            alpha=0.9,
        )
    handles = [
        Line2D([], [], color=colors(i % colors.N), marker="o", ls="", label=setting)
        for i, setting in enumerate(settings)
    ]
    handles += [
        Line2D([], [], color="0.3", marker=MARKERS[i % len(MARKERS)], ls="", label=printable(model))
        for i, model in enumerate(models)
    ]
    ax.legend(handles=handles, title="setting / model", fontsize=8, loc="best")
    ax.set_xlabel(f"Transfer: {transfer_measure}, mean over {len(languages)} languages")
    ax.set_ylabel(f"Localization: {LOCALIZATION_LABELS[localization]}", fontsize=8)
    ax.set_title(f"Transfer–Localization plane ({', '.join(languages)}); bars: 95 % CI")
    notes = [
        f"English reference ({printable(m)}): {s.score:.3f}" for m, s in references(scores).items()
    ]
    if notes:
        ax.text(0.01, 0.01, "\n".join(notes), transform=ax.transAxes, fontsize=7, va="bottom")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    place_labels(ax, _spots(plotted))  # after the layout, which moves the axes
    with atomic_output(path) as partial:
        fig.savefig(partial, format="png")
    plt.close(fig)
    return path


def save_planes(
    scores: Sequence[Score], directory: Path, *, languages: Sequence[str], transfer_measure: str
) -> list[Path]:
    """One plane per Localization measure in ``scores``: ``plane.png`` (native),
    ``plane-en.png`` (English questions) and ``plane-facts.png`` (culture facts)."""
    return [
        save_png(
            scores,
            directory / PLANE_FILES[metric],
            languages=languages,
            transfer_measure=transfer_measure,
            localization=metric,
        )
        for metric in localization_metrics(scores)
    ]


LABEL_OFFSETS = ((6, 4), (-6, 4), (6, -10), (-6, -10), (6, 14), (-6, 14), (6, -20), (-6, -20))


def place_labels(ax: Any, spots: dict[tuple[float, float], list[str]]) -> list[Any]:
    """Label each spot beside it, trying the offsets of :data:`LABEL_OFFSETS` in turn so that
    labels of nearby spots do not overlap (the last one is kept when every offset collides)."""
    renderer = ax.figure.canvas.get_renderer()
    placed: list[Any] = []
    boxes: list[Any] = []
    for (x, y), names in spots.items():
        for dx, dy in LABEL_OFFSETS:
            label = ax.annotate(
                ", ".join(names),
                (x, y),
                xytext=(dx, dy),
                textcoords="offset points",
                ha="left" if dx > 0 else "right",
                fontsize=7,
            )
            box = label.get_window_extent(renderer)
            if (dx, dy) == LABEL_OFFSETS[-1] or not any(box.overlaps(b) for b in boxes):
                break
            label.remove()
        placed.append(label)
        boxes.append(box)
    return placed


def _spots(plotted: Sequence[Point]) -> dict[tuple[float, float], list[str]]:
    """Settings per distinct position (several can coincide, e.g. when a vector has no
    effect); models are told apart by their markers."""
    spots: dict[tuple[float, float], list[str]] = {}
    for p in plotted:
        names = spots.setdefault((p.transfer.score, p.localization.score), [])
        if p.setting not in names:
            names.append(p.setting)
    return spots


def terminal_plot(
    scores: Sequence[Score],
    *,
    localization: str = "localization",
    width: int = 60,
    height: int = 16,
) -> str:
    """The plane as plain text: a letter per (model, setting), explained below the grid
    (``*`` where points overlap)."""
    plotted = points(scores, localization)[: len(LETTERS)]
    if not plotted:
        return ""
    xs = [p.transfer.score for p in plotted]
    ys = [p.localization.score for p in plotted]
    x_low, x_high = _padded(xs)
    y_low, y_high = _padded(ys)
    grid = [[" "] * width for _ in range(height)]
    for letter, x, y in zip(LETTERS, xs, ys, strict=False):
        col = round((x - x_low) / (x_high - x_low) * (width - 1))
        row = height - 1 - round((y - y_low) / (y_high - y_low) * (height - 1))
        grid[row][col] = letter if grid[row][col] == " " else "*"
    lines = [f"Localization ({LOCALIZATION_LABELS[localization]})"]
    for index, row in enumerate(grid):
        label = f"{y_high:.3f}" if index == 0 else f"{y_low:.3f}" if index == height - 1 else ""
        lines.append(f"{label:>6} |{''.join(row)}")
    lines.append(f"{'':>6} +{'-' * width}")
    gap = width - 10
    lines.append(f"{'':>7}{x_low:<.3f}{'Transfer':^{gap}}{x_high:>.3f}"[: width + 8])
    models = {p.model for p in plotted}
    for letter, p in zip(LETTERS, plotted, strict=False):
        name = p.setting if len(models) == 1 else f"{p.setting} [{p.model}]"
        where = f"Transfer {p.transfer.score:.3f}, Localization {p.localization.score:.3f}"
        lines.append(f"  {letter}  {name}: {where}")
    return "\n".join(lines)


def _padded(values: Sequence[float]) -> tuple[float, float]:
    """An axis range around ``values`` with a little room (never empty)."""
    low, high = min(values), max(values)
    pad = max((high - low) * 0.05, 0.01)
    return low - pad, high + pad
