"""``surgsteer doctor``: check that this installation loads the model and really steers."""

from __future__ import annotations

import click
from rich.table import Table

from surgsteer_cli import doctor as checks
from surgsteer_cli.commands.options import model_options
from surgsteer_cli.console import out, safe
from surgsteer_cli.session import RuntimeOptions


@click.command()
@model_options
def doctor(runtime: RuntimeOptions) -> None:
    """Check the installation: versions, model loading, that a control vector really changes
    the logits (and clearing restores them), installed profiles, language detection.
    Exits with status 1 if any check fails."""
    table = Table("component", "version", title="versions", title_justify="left")
    for name, version in checks.versions().items():
        table.add_row(name, safe(version))
    out.print(table)
    results = checks.run_checks(runtime)
    for check in results:
        mark = "[green]ok  [/green]" if check.ok else "[red]FAIL[/red]"
        out.print(f"{mark} [bold]{check.name}[/bold]: {safe(check.detail)}", soft_wrap=True)
    if not all(check.ok for check in results):
        raise SystemExit(1)
