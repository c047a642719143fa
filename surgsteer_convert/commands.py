"""``surgsteer layers`` and ``surgsteer extract``: thin click wrappers over ``surgsteer_convert``.

torch and transformers load only when a command runs (``surgsteer_convert.loading``), not for
``--help``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from surgsteer_cli import console, paths
from surgsteer_cli.commands.options import (
    MODEL_HELP,
    default_scale_option,
    languages_option,
    model_option,
    threads_option,
)
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.vector_file import SteeringVector
from surgsteer_convert import DEVICES
from surgsteer_convert.activations import POOLS
from surgsteer_convert.aggregate import AGGREGATORS
from surgsteer_convert.contrasts import LANGUAGES, LOC_METHODS, check_languages
from surgsteer_convert.directions import measure
from surgsteer_convert.extract import Band, build_vectors, parse_band, write_vectors
from surgsteer_convert.layers import LayerReport, analyze, load_bands, plot, table

if TYPE_CHECKING:
    from surgsteer_convert.loading import LoadedModel

REPORT_NAME = "layers.json"
PLOT_NAME = "layers.png"
EXTRA_MODULES = ("torch", "transformers")
"""What the ``[extract]`` extra installs for ``extract`` and ``layers``."""


def _choice_option(name: str, choices: Sequence[str], default: str, help: str) -> Callable:
    """One of a fixed set of choices, its default shown in --help."""
    return click.option(
        name, type=click.Choice(list(choices)), default=default, show_default=True, help=help
    )


def _measurement_options(command: Callable) -> Callable:
    """Options shared by both commands: model, languages and how directions are measured."""
    options = [
        model_option(help=f"{MODEL_HELP} Or a Hugging Face model directory (with --gguf)."),
        click.option(
            "--gguf",
            "gguf",
            metavar="PATH",
            help="With an HF directory: the GGUF the vectors will run on.",
        ),
        threads_option(),
        _choice_option(
            "--device",
            DEVICES,
            "auto",
            "Where PyTorch computes: auto = a GPU when torch sees one (CUDA, else MPS), else CPU.",
        ),
        languages_option(help=f"Languages: {', '.join(LANGUAGES)}."),
        _choice_option(
            "--loc-method",
            LOC_METHODS,
            "country",
            "LOC contrast: country = BLEnD question naming L's country vs the country "
            "removed; contrast = the same minus the other languages' shift; answers = L's "
            "annotators' answers to questions naming no country minus the other languages' "
            "(contrast and answers: extract two or more together); language = question in L "
            "vs in English.",
        ),
        _choice_option(
            "--aggregate", sorted(AGGREGATORS), "mean", "How paired states become a direction."
        ),
        _choice_option("--pool", POOLS, "mean", "Prompt state: mean over tokens or last token."),
        click.option(
            "--max-items",
            type=click.IntRange(min=1),
            help="Use at most N extraction facts and N questions per language.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command()
@_measurement_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for layers.json and layers.png (default: the model's user vectors folder).",
)
def layers(
    model, gguf, threads, device, languages, loc_method, aggregate, pool, max_items, out
) -> None:  # fmt: skip
    """Per-block analysis: cross-lingual similarity, culture probe, norms, cos(EN, LOC); bands.

    Without --lang, every supported language. The bands are saved in <out>/layers.json,
    where `surgsteer extract --out` reads them.
    """
    languages = check_languages(languages or LANGUAGES)
    loaded = _load(model, gguf, threads, device)
    how = dict(loc_method=loc_method, aggregate=aggregate, pool=pool, max_items=max_items)
    report = analyze(measure(loaded, languages, **how), loaded.spec, loaded.model_id)
    _save_report(report, out or paths.user_vectors_dir() / loaded.model_id)
    console.out.print(table(report))
    console.out.print(f"EN band {_band(report.en_band)}, LOC band {_band(report.loc_band)}")


@click.command()
@_measurement_options
@click.option("--all", "all_languages", is_flag=True, help="Every supported language.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: the user vectors folder/<model-id>).",
)
@click.option("--en-layers", metavar="A-B", help="EN band (default: from <out>/layers.json).")
@click.option("--loc-layers", metavar="A-B", help="LOC band (default: from <out>/layers.json).")
@default_scale_option("en")
@default_scale_option("loc")
def extract(
    model, gguf, threads, device, languages, loc_method, aggregate, pool, max_items,
    all_languages, out, en_layers, loc_layers, default_en_scale, default_loc_scale,
) -> None:  # fmt: skip
    """Extract EN and LOC steering vectors and write them as GGUF control vectors.

    Bands not given with --en-layers/--loc-layers come from <out>/layers.json (written by
    `surgsteer layers`); without one, this run's own layer analysis chooses them and is saved
    there. --default-en-scale/--default-loc-scale set the scale a file applies when none is
    given (e.g. the one `eval --split tune` chose).
    """
    if all_languages == bool(languages):
        raise SurgsteerError("choose languages with --lang CODE[,CODE...] or --all")
    languages = check_languages(languages or LANGUAGES)
    loaded = _load(model, gguf, threads, device)
    out = out or paths.user_vectors_dir() / loaded.model_id
    en_band, loc_band, source = _preset_bands(loaded.spec, out, en_layers, loc_layers, languages)
    how = dict(loc_method=loc_method, aggregate=aggregate, pool=pool, max_items=max_items)
    analysis = en_band is None or loc_band is None
    measurement = measure(loaded, languages, for_analysis=analysis, **how)
    report = None
    if analysis:
        report = analyze(measurement, loaded.spec, loaded.model_id)
        en_band, loc_band = en_band or report.en_band, loc_band or report.loc_band
    scales = {"en": default_en_scale, "loc": default_loc_scale}
    vectors = build_vectors(measurement, loaded.spec, en_band, loc_band, source, scales)
    title = f"Vectors ({measurement.aggregate}, {measurement.pool}, LOC {measurement.loc_method})"
    pairs = {(role, lang): len(d.contrast.positives) for role, lang, d in measurement.each()}
    del measurement  # its states (prompts x blocks x n_embd) need not sit beside llama.cpp's
    vectors = _checked(loaded, vectors, threads)
    written = write_vectors(vectors, out)
    if report is not None:
        _save_report(report, out)
    _summary(title, pairs, vectors, written)


def _load(model: str | None, gguf: str | None, threads: int | None, device: str) -> LoadedModel:
    """Load the model for streaming into PyTorch on ``device`` (CPU: ``threads`` threads)."""
    try:
        from surgsteer_convert.loading import load_model, use_threads

        use_threads(threads)
        return load_model(model, gguf, device)
    except ModuleNotFoundError as exc:  # transformers is imported inside load_model
        if exc.name not in EXTRA_MODULES:
            raise
        raise SurgsteerError(
            f"this command needs the extract extra ({exc.name} is not installed): "
            "pip install 'surgsteer[extract]', or pip install '.[extract]' in a checkout"
        ) from None


def _checked(
    loaded: LoadedModel, vectors: list[SteeringVector], threads: int | None
) -> list[SteeringVector]:
    """Each vector with its default scale capped by the held-out check (``scale_check``), run
    in llama.cpp (on the CPU when PyTorch was), and tagged with the extraction's device."""
    from surgsteer_convert.scale_check import HeldOut, capped, runtime
    from surgsteer_convert.streaming import return_freed_memory

    return_freed_memory()  # the streaming is done: its peak and llama.cpp's do not add up
    engine = runtime(loaded.gguf, threads, gpu_layers=0 if loaded.device == "cpu" else None)
    checked = []
    try:
        with console.progress() as bar:
            task = bar.add_task("Checking default scales on held-out text", total=len(vectors))
            held_out: dict[str, HeldOut] = {}
            for vector in vectors:
                if vector.language not in held_out:
                    held_out[vector.language] = HeldOut.measure(engine, vector.language)
                vector = capped(engine, vector, held_out[vector.language])
                checked.append(dataclasses.replace(vector, device=loaded.device))
                bar.advance(task)
    finally:
        engine.llm.close()
    return checked


def _preset_bands(
    spec: ModelSpec, out: Path, en_layers: str | None, loc_layers: str | None, languages: list[str]
) -> tuple[Band | None, Band | None, str]:
    """Bands known before measuring (options, else <out>/layers.json); None: analyze this run."""
    en = parse_band(en_layers, spec.n_layer) if en_layers else None
    loc = parse_band(loc_layers, spec.n_layer) if loc_layers else None
    if en and loc:
        return en, loc, "the command line"
    saved = load_bands(out / REPORT_NAME, spec)
    if saved:
        return en or saved[0], loc or saved[1], REPORT_NAME
    if len(languages) < 2:
        raise SurgsteerError(
            f"no layer bands for this model in {out / REPORT_NAME}: run `surgsteer layers` "
            "first, pass --en-layers and --loc-layers, or extract at least two languages"
        )
    return en, loc, "the layer analysis of this run"


def _save_report(report: LayerReport, out: Path) -> None:
    """Write layers.json and layers.png into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    report.save(out / REPORT_NAME)
    plot(report, out / PLOT_NAME)
    console.info(f"wrote {out / REPORT_NAME} and {out / PLOT_NAME}")


def _summary(
    title: str,
    pairs: dict[tuple[str, str], int],
    vectors: list[SteeringVector],
    written: list[Path],
) -> None:
    """The written files, with the contrast pairs behind each (by role and language)."""
    from rich.table import Table

    grid = Table(title=title)
    for header in ("file", "role", "band", "default scale", "pairs"):
        grid.add_column(header)
    for vector, path in zip(vectors, written, strict=True):
        grid.add_row(
            str(path),
            vector.role,
            _band(vector.band),
            f"{vector.default_scale:.4g}",
            str(pairs[vector.role, vector.language]),
        )
    console.out.print(grid)
    for vector in vectors:
        console.info(f"{vector.language}.{vector.role} scale check: {vector.scale_check}")


def _band(band: tuple[int, int]) -> str:
    return f"{band[0]}-{band[1]}"
