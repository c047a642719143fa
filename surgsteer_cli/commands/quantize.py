"""``surgsteer quantize``: more quantizations of a model, served by the same vectors."""

from __future__ import annotations

from pathlib import Path

import click

from surgsteer_cli import console
from surgsteer_cli.commands.options import model_option, threads_option
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.models import resolve_model
from surgsteer_cli.quantize import TYPES
from surgsteer_cli.quantize import quantize as run_quantize


@click.command()
@click.argument("source", required=False)
@model_option()
@click.option(
    "--type",
    "types",
    required=True,
    help=f"Comma-separated target types: {', '.join(TYPES)}.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Directory for the outputs, named <source>-<TYPE>.gguf.",
)
@threads_option()
def quantize(
    source: str | None, model: str | None, types: str, out: Path, threads: int | None
) -> None:
    """Quantize the model (--model, or the older spelling SOURCE) with llama.cpp's quantizer.

    A source that is already quantized is first dequantized to F16 with gguf-py. Every
    output keeps the source's fingerprint, so the same steering vectors apply to it.
    """
    given = click.get_current_context().get_parameter_source("model")
    if source and model and source != model and given == click.core.ParameterSource.COMMANDLINE:
        raise SurgsteerError(f"two models given: SOURCE {source} and --model {model}")
    names = [name.strip().upper() for name in types.split(",") if name.strip()]
    outputs = run_quantize(
        resolve_model(source or model), names, out, threads=threads, notify=console.info
    )
    for path in outputs:
        console.out.print(str(path))
