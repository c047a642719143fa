"""``surgsteer vectors ls|inspect|export``: the steering-vector files, what is in them, and one
language's steering baked into a file for stock llama.cpp."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
from rich.table import Table

from surgsteer_cli import inspection, vector_file
from surgsteer_cli.commands.options import (
    language_option,
    model_option,
    scale_option,
    vectors_option,
)
from surgsteer_cli.console import info, out, safe, warn
from surgsteer_cli.display import layer_ranges
from surgsteer_cli.errors import VectorFileError
from surgsteer_cli.export import EXPORT_CONFIGS, export_language
from surgsteer_cli.inspection import baked_text
from surgsteer_cli.models import resolve_model
from surgsteer_cli.profiles import default_dirs
from surgsteer_cli.untrusted import json_text


@click.group()
def vectors() -> None:
    """List, inspect and export steering-vector files."""


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
        record = inspection.summary(listing)
        model = listing.vector.model
        band = record["band"]
        scales = record.get("scales") or {record["role"]: record["scale"]}
        table.add_row(
            safe(f"{model.architecture} {model.fingerprint[:8]}"),
            safe(record["language"]),
            safe(record["role"]),
            layer_ranges(record["layers"]),
            "-" if band is None else f"{band[0]}-{band[1]}",
            " ".join(f"{scale:g}" for scale in scales.values()),
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
        text = f"{value:.7g}" if isinstance(value, float) else str(value)  # float32 tags
        tags.add_row(safe(key), safe(text))
    out.print(tags)
    if report["kind"] == vector_file.EXPORT_KIND:
        _print_export(report)
        return
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


def _print_export(report: dict[str, object]) -> None:
    layers = Table("block", "norm", "steered by")
    for row in report["layers"]:
        layers.add_row(str(row["block"]), f"{row['norm']:.4g}", " + ".join(row["roles"]).upper())
    out.print(layers)
    info(f"Baked for stock llama.cpp: {report['baked']}.")
    info(f"Load it with {report['llama_cpp']}.")


@vectors.command("export")
@language_option(help="Language of the profile.", required=True)
@model_option()
@vectors_option("vector_dirs", help="Extra vector file or directory (repeatable), as for `ask`.")
@click.option(
    "--config",
    type=click.Choice(EXPORT_CONFIGS),
    default="surgical",
    show_default=True,
    help="Which roles on which blocks (surgical: what `ask` applies).",
)
@scale_option("en")
@scale_option("loc")
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="File to write.",
)
def export_command(
    lang: str,
    model: str | None,
    vector_dirs: tuple[Path, ...],
    config: str,
    en_scale: float | None,
    loc_scale: float | None,
    out_path: Path,
) -> None:
    """Bake one language's steering into a control-vector file for stock llama.cpp.

    The file holds the vectors already scaled, only on the steered blocks, so llama.cpp
    applies exactly what `surgsteer ask --lang CODE` does when it loads the file at strength
    1 with no layer range.

    \b
    Example:  surgsteer vectors export --lang ko --out ko.llama.gguf
              llama-completion -m MODEL.gguf --control-vector ko.llama.gguf -p "Q: ...\nA:"
    """
    exported = export_language(
        resolve_model(model),
        lang,
        config,
        en_scale=en_scale,
        loc_scale=loc_scale,
        vector_dirs=vector_dirs,
    )
    vector_file.write_export(exported, out_path)
    info(f"Wrote {out_path}: {baked_text(exported)}.")
    info(f"Load it with --control-vector {shlex.quote(str(out_path))}")
