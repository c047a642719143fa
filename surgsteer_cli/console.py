"""One place for terminal output: results to stdout, messages and progress to stderr."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def info(message: str) -> None:
    """A status line on stderr."""
    err.print(f"[dim]{message}[/dim]", soft_wrap=True)


def warn(message: str) -> None:
    """A warning on stderr."""
    err.print(f"[yellow]warning:[/yellow] {message}", soft_wrap=True)


def progress() -> Progress:
    """A Rich progress bar with ETA on stderr, silent when stderr is not a terminal."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
        transient=False,
    )
