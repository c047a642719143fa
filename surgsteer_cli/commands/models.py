"""``surgsteer models``: the named models, whether they are assembled, and their vectors."""

from __future__ import annotations

from collections import Counter

import click
from rich import box
from rich.table import Table

from surgsteer_cli import vector_file
from surgsteer_cli.console import out, warn
from surgsteer_cli.errors import VectorFileError
from surgsteer_cli.models import DEFAULT_MODEL, NAMED_MODELS
from surgsteer_cli.paths import resource_dir
from surgsteer_cli.untrusted import json_text


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, one object per model.")
def models(as_json: bool) -> None:
    """List the models that `--model NAME` (or $SURGSTEER_MODEL) accepts.

    A named model ships in Python packages and is assembled into the cache (checked by
    SHA-256) the first time a command uses it; "shipped vectors" counts the vector files in
    the package's vectors/ folder made for it. Any other GGUF file works as `--model PATH`.
    """
    shipped = _shipped_vectors()
    records = [
        {
            "name": model.name,
            "default": model.name == DEFAULT_MODEL,
            "title": model.title,
            "architecture": model.architecture,
            "blocks": model.n_layer,
            "width": model.n_embd,
            "size_bytes": model.size,
            "assembled": model.assembled,
            "path": str(model.path),
            "shipped_vectors": shipped[model.fingerprint],
        }
        for model in NAMED_MODELS.values()
    ]
    if as_json:
        click.echo(json_text(records))
        return
    table = Table(
        title="Named models (--model NAME)", title_justify="left", box=box.SIMPLE, pad_edge=False
    )
    table.add_column("name", no_wrap=True)
    for column in ("default", "arch", "blocks", "width", "GB", "cached", "vectors"):
        justify = "right" if column in ("blocks", "width", "GB") else "left"
        table.add_column(column, justify=justify, min_width=len(column))
    for record in records:
        table.add_row(
            str(record["name"]),
            "yes" if record["default"] else "",
            str(record["architecture"]),
            str(record["blocks"]),
            str(record["width"]),
            f"{int(record['size_bytes']) / 1e9:.2f}",
            "yes" if record["assembled"] else "no",
            str(record["shipped_vectors"]),
        )
    out.print(table)
    for model in NAMED_MODELS.values():
        out.print(f"{model.name}: {model.title}", highlight=False)


def _shipped_vectors() -> Counter[str]:
    """Shipped vector files per model fingerprint."""
    counts: Counter[str] = Counter()
    for path in sorted(resource_dir("vectors").rglob("*.gguf")):
        try:
            counts[vector_file.read(path).model.fingerprint] += 1
        except VectorFileError as exc:
            warn(f"skipping {exc}")
    return counts
