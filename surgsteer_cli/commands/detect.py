"""``surgsteer detect``: which language a question is in, as ``ask`` would see it."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import click

from surgsteer_cli import langid
from surgsteer_cli.commands.options import languages_option
from surgsteer_cli.console import info, out, safe
from surgsteer_cli.untrusted import json_text

FALLBACK = "ask answers without LOC steering"


@click.command()
@click.argument("text", required=False)
@languages_option(
    "--candidates", "candidates", default=langid.DEFAULT_LANGUAGES, help="Languages to choose from."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def detect(text: str | None, candidates: tuple[str, ...], as_json: bool) -> None:
    """Detect the language of TEXT, or of each line read from stdin.

    Unknown or unsure results print "unknown": such questions are answered without
    LOC steering.
    """
    codes = langid.check_languages(candidates)
    texts = [text] if text is not None else _stdin_lines()
    for line in texts:
        detection = langid.detect(line, codes)
        if as_json:
            record = {
                "text": line,
                "language": detection.language,
                "confidence": round(detection.confidence, 4),
            }
            click.echo(json_text(record))
        else:
            echoed = "" if text is not None else f"  {safe(line)}"
            out.print(_describe(detection) + echoed, soft_wrap=True)


def _stdin_lines() -> Iterator[str]:
    """Lines from stdin without their line ends; undecodable bytes become U+FFFD."""
    if sys.stdin.isatty():
        info("Reading questions from stdin, one per line (Ctrl-D ends).")
    for raw in sys.stdin.buffer:
        yield raw.decode("utf-8", errors="replace").rstrip("\r\n")


def _describe(detection: langid.Detection) -> str:
    confidence = f"confidence {detection.confidence:.2f}"
    if detection.language is None:
        return f"[yellow]unknown[/yellow]  {confidence}  [dim]({FALLBACK})[/dim]"
    name = langid.LANGUAGES[detection.language].name
    return f"[bold]{detection.language}[/bold] {name}  {confidence}"
