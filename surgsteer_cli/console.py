"""One place for terminal output: results to stdout, messages and progress to stderr.

Text from outside (file names, paths, vector metadata, error messages, model output) reaches
the terminal only through ``safe`` (into Rich markup; ``info`` and ``warn`` apply it to their
whole message), ``printable`` or ``terminal_text`` (answers): Rich would otherwise read
``[/x]`` as markup, and escape sequences would drive the terminal.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from surgsteer_cli.untrusted import printable

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def safe(text: object) -> str:
    """``printable(text)`` escaped for Rich markup: how names, paths and metadata enter it."""
    return escape(printable(text))


def info(message: str) -> None:
    """A status line on stderr; ``message`` is plain text, never markup."""
    err.print(f"[dim]{safe(message)}[/dim]", soft_wrap=True)


def warn(message: str) -> None:
    """A warning on stderr; ``message`` is plain text, never markup."""
    err.print(f"[yellow]warning:[/yellow] {safe(message)}", soft_wrap=True)


def progress() -> Progress:
    """A Rich progress bar with ETA on stderr, silent when stderr is not a terminal."""
    return Progress(
        _DescriptionColumn(),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
        transient=False,
    )


class _DescriptionColumn(ProgressColumn):
    """A task's description as printable plain text: it holds model file names."""

    def render(self, task: Task) -> Text:
        return Text(printable(task.description))
