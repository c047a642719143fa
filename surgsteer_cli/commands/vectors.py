"""``surgsteer vectors ls|inspect``: the steering-vector files and what is in them."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from surgsteer_cli import inspection
from surgsteer_cli.console import info, out, safe, warn
from surgsteer_cli.display import layer_ranges
from surgsteer_cli.errors import VectorFileError
from surgsteer_cli.profiles import default_dirs
from surgsteer_cli.untrusted import json_text


@click.group()
def vectors() -> None:
    """List and inspect steering-vector files."""


@vectors.command("ls")
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, one object per file.")
def ls(directory: Path | None, as_json: bool) -> None:
    """List the vectors in DIRECTORY [default: the shipped and the user vector dirs].
    Files that cannot be read are reported on stderr and skipped."""
    if directory is not None and not directory.is_dir():
        raise VectorFileError(f"{directory}: no such directory")
    dirs = [directory] if directory else [d for d in default_dirs() if d.is_dir()]
    found: dict[Path, list[inspection.Listing]] = {}
    for root in dirs:
        for listing in inspection.list_vectors([root]):
            if listing.error:
                warn(f"skipping {listing.error}")
            else:
                found.setdefault(root, []).append(listing)
    if as_json:
        records = [inspection.summary(item) for items in found.values() for item in items]
        click.echo(json_text(records))
        return
    if not found:
        where = ", ".join(str(d) for d in dirs) or "the shipped or user vector directories"
        info(f"No vector files in {where}.")
    for root, listings in found.items():
        out.print(_table(root, listings))


def _table(root: Path, listings: list[inspection.Listing]) -> Table:
    table = Table(title=safe(root), title_justify="left")
    for column in ("model", "language", "role", "layers", "band", "scale", "file"):
        table.add_column(column, overflow="fold")
    for listing in listings:
        vector = listing.vector
        table.add_row(
            safe(f"{vector.model.architecture} {vector.model.fingerprint[:8]}"),
            safe(vector.language),
            safe(vector.role),
            layer_ranges(vector.layers),
            "-" if vector.band is None else f"{vector.band[0]}-{vector.band[1]}",
            f"{vector.default_scale:g}",
            safe(listing.path.relative_to(root)),
        )
    return table


@vectors.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def inspect(file: Path, as_json: bool) -> None:
    """Show every tag of FILE, its band and per-layer norms, and cos(EN, LOC) per layer when
    the other role's file for the same language and model is in the same directory."""
    report = inspection.inspect(file)
    if as_json:
        click.echo(json_text(report))
        return
    tags = Table("tag", "value", title=safe(file), title_justify="left")
    for key, value in report["tags"].items():
        tags.add_row(safe(key), safe(value))
    out.print(tags)
    sibling = report["sibling"]
    top = f"top-{inspection.TOP_K} share"
    columns = ["block", "norm", top, "in band"] + (["cos(EN, LOC)"] if sibling else [])
    layers = Table(*columns)
    dominated = [
        row["block"] for row in report["layers"] if row["top3_share"] > inspection.DOMINATED
    ]
    for row in report["layers"]:
        share = f"{row['top3_share']:.0%}"
        cells = [str(row["block"]), f"{row['norm']:.4g}", share, "yes" if row["in_band"] else ""]
        if sibling:
            cos = row["cos_other_role"]
            cells.append("-" if cos is None else f"{cos:+.3f}")
        layers.add_row(*cells)
    out.print(layers)
    if dominated:
        warn(
            f"blocks {layer_ranges(dominated)}: over {inspection.DOMINATED:.0%} of the direction "
            f"is in {inspection.TOP_K} coordinates (massive activations?)"
        )
    if sibling:
        info(f"cos(EN, LOC) against {sibling}")
    for message in report["warnings"]:
        warn(message)
