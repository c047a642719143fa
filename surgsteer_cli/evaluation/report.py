"""What ``surgsteer eval`` prints when a run ends: tables and text planes from its report."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.table import Table

from surgsteer_cli.console import info, out, safe
from surgsteer_cli.evaluation.ceiling import CeilingShare
from surgsteer_cli.evaluation.plane import (
    localization_metrics,
    points,
    references,
    terminal_plot,
)
from surgsteer_cli.evaluation.runner import Report
from surgsteer_cli.evaluation.summary import Score
from surgsteer_cli.untrusted import terminal_text


def print_report(report: Report) -> None:
    """Print a finished run: the mean over languages per setting, the English reference,
    the ceiling shares, the planes as text, the costs and the files written."""
    measures = localization_metrics(report.scores)
    plotted = points(report.scores, measures[0]) if measures else []
    several = len({point.model for point in plotted}) > 1
    table = Table(title="Mean over languages [95 % CI]", box=box.SIMPLE_HEAD)
    names = {
        "localization": "Loc (native)",
        "localization-en": "Loc (English)",
        "localization-facts": "Loc (facts)",
    }
    columns = ["setting", *(["model"] if several else []), "Transfer"]
    columns += [names[metric] for metric in measures]
    longest = max((len(point.setting) for point in plotted), default=0)
    for column in [*columns, "Consistency", "langs"]:
        table.add_column(
            column,
            justify="left" if column in ("setting", "model") else "right",
            # whole names: swept settings differ only at their ends
            min_width=longest if column == "setting" else None,
        )
    cells = {(s.model, s.setting, s.metric): s for s in report.scores if s.language == "all"}
    for point in plotted:
        table.add_row(
            safe(point.setting),
            *([safe(point.model)] if several else []),
            _cell(point.transfer, sep="\n"),
            *(
                _cell(cells.get((point.model, point.setting, metric)), sep="\n")
                for metric in measures
            ),
            _cell(cells.get((point.model, point.setting, "consistency")), sep="\n"),
            str(point.transfer.languages),
        )
    out.print(table)
    if plotted and not several:
        out.print(f"model: {safe(plotted[0].model)}")
    for model, score in references(report.scores).items():
        out.print(f"English reference (unsteered transfer), {safe(model)}: {_cell(score)}")
    if report.shares:
        out.print(ceiling_table(report.shares))
    for metric in measures if plotted else []:
        plot = terminal_plot(report.scores, localization=metric)
        out.print(terminal_text(plot), markup=False, highlight=False)
    for model, axes in report.seconds_per_item.items():
        costs = ", ".join(f"{axis} {seconds:.3f} s/item" for axis, seconds in axes.items())
        info(f"{model}: {costs}")
    if report.driver_seconds_per_item is not None:
        info(f"driver: {report.driver_seconds_per_item * 1000:.2f} ms/item besides waiting")
    for path in report.files:
        info(f"wrote {path}")


def ceiling_table(shares: Sequence[CeilingShare]) -> Table:
    """Pooled gains over none, shares of the prompt ceiling's gain and known-facts accuracy."""
    table = Table(
        title="Against the ceiling (prompt: the country named), mean over languages [95 % CI]",
        box=box.SIMPLE_HEAD,
    )
    longest = max(len(share.setting) for share in shares)
    for column in ("setting", "measure", "gain over none", "share of ceiling", "known facts"):
        table.add_column(
            column,
            justify="left" if column in ("setting", "measure") else "right",
            min_width=longest if column == "setting" else None,  # whole names
        )
    for share in shares:
        if share.language != "all":
            continue
        ratio = "-"
        if share.share is not None:
            ratio = f"{share.share:.2f}\n[{share.share_low:.2f},{share.share_high:.2f}]"
        known = "-" if share.known is None else f"{share.known:.2f} of {share.known_n}"
        table.add_row(
            safe(share.setting),
            share.metric.replace("localization", "loc"),
            f"{share.gain:+.3f}\n[{share.gain_low:+.2f},{share.gain_high:+.2f}]",
            ratio,
            known,
        )
    return table


def _cell(score: Score | None, sep: str = " ") -> str:
    """A score and its interval, ``sep`` between them ("\n" in a table: narrow columns)."""
    if score is None:
        return "-"
    return f"{score.score:.3f}{sep}[{score.ci_low:.2f},{score.ci_high:.2f}]"
