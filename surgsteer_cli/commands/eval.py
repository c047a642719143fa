"""``surgsteer eval``: place models and steering settings on the Transfer–Localization plane."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from surgsteer_cli.commands.options import (
    MODEL_HELP,
    languages_option,
    model_option,
    threads_option,
    vectors_option,
)
from surgsteer_cli.console import info
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.evaluation.localization import MEASURES
from surgsteer_cli.evaluation.quantizations import model_files, prepare
from surgsteer_cli.evaluation.report import print_report
from surgsteer_cli.evaluation.runner import EvalRequest, run_eval
from surgsteer_cli.evaluation.selection import LANGUAGES, SPLITS, TRANSFER_FORMATS
from surgsteer_cli.evaluation.settings import expand
from surgsteer_cli.model_spec import parse_band
from surgsteer_cli.models import resolve_model
from surgsteer_cli.quantize import TYPES
from surgsteer_cli.steering import CONFIGS, check_scale
from surgsteer_cli.vector_file import PLACEMENTS

DIRECTORY = click.Path(file_okay=False, path_type=Path)


@click.command()
@model_option(
    multiple=True,
    help=f"{MODEL_HELP} Repeatable; a comma list or a glob (quoted) names several files.",
)
@click.option(
    "--quantize",
    "quantize_types",
    default="",
    metavar="TYPES",
    help=f"Also evaluate each model quantized to TYPES (comma list of {', '.join(TYPES)}), "
    "made as `surgsteer quantize` makes them (a quantized model through F16) into "
    "OUT/models, once: a resumed run reuses them.",
)
@vectors_option(
    "vector_dirs",
    help="Vector file or directory (repeatable); matched to models by fingerprint.",
)
@languages_option(default=LANGUAGES, help="Languages.")
@click.option(
    "--config",
    "configs",
    default=",".join(CONFIGS),
    show_default=True,
    help="Steering configs; one may name its --localize mode, e.g. surgical[prompt].",
)
@click.option("--en-scale", default="", help="EN scales to sweep, e.g. 0,0.5,1,2.")
@click.option("--loc-scale", default="", help="LOC scales to sweep.  [default: each file's]")
@click.option(
    "--en-layers", default="", help="EN bands to sweep, e.g. 6-10,22-24.  [default: each file's]"
)
@click.option("--loc-layers", default="", help="LOC bands to sweep.  [default: each file's]")
@click.option(
    "--localize",
    "localizes",
    default="vector",
    show_default=True,
    help="How loc-deep and surgical bring in the culture, comma-separated to compare: "
    "vector (the LOC vector), prompt (the country in a system line instead), both.",
)
@click.option(
    "--en-at",
    type=click.Choice(PLACEMENTS),
    help="Tokens the EN vector steers: all, prompt (not the answer), question.  "
    "[default: each file's]",
)
@click.option(
    "--loc-at",
    type=click.Choice(PLACEMENTS),
    help="Tokens the LOC vector steers.  [default: each file's]",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most N items per language and axis.")
@click.option(
    "--split",
    type=click.Choice(SPLITS),
    default="test",
    show_default=True,
    help="Evaluation items (never the extraction ones).",
)
@click.option("--blend", "blend_dir", type=DIRECTORY, help="BLEnD in its own layout.")
@click.option("--bmlama", "bmlama_dir", type=DIRECTORY, help="BMLAMA in its own layout.")
@click.option("--mcq", "mcq_dir", type=DIRECTORY, help="Multiple choice as Transfer data.")
@click.option(
    "--transfer",
    "transfer_format",
    type=click.Choice(TRANSFER_FORMATS),
    help="BMLAMA facts as four-option questions (answer letter) or cloze sentences.  "
    "[default: mcq for chat models, else cloze]",
)
@click.option(
    "--localization",
    "measures",
    default=",".join(MEASURES),
    show_default=True,
    help="Localization measures: native (BLEnD question in L), english (the same in English "
    "under L's profile), facts (culture facts asked in English without the country).",
)
@click.option("--out", type=DIRECTORY, help="Run directory.  [default: runs/eval-<split>-<hash>]")
@click.option("--fresh", is_flag=True, help="Discard earlier results in the run directory.")
@threads_option()
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Score on N Ray workers, each loading the model once with --threads threads "
    "[default 1 there]; starts a local Ray runtime (pip install 'surgsteer[cluster]').",
)
@click.option(
    "--ray-address",
    metavar="ADDR",
    help="Score on the running Ray cluster at ADDR (from `ray start --head`) instead; "
    "--workers defaults to its CPUs / --threads.",
)
def eval_command(
    models: Sequence[str],
    quantize_types: str,
    vector_dirs: Sequence[Path],
    languages: tuple[str, ...],
    configs: str,
    en_scale: str,
    loc_scale: str,
    en_layers: str,
    loc_layers: str,
    localizes: str,
    en_at: str | None,
    loc_at: str | None,
    limit: int | None,
    split: str,
    blend_dir: Path | None,
    bmlama_dir: Path | None,
    mcq_dir: Path | None,
    transfer_format: str | None,
    measures: str,
    out: Path | None,
    fresh: bool,
    threads: int | None,
    workers: int | None,
    ray_address: str | None,
) -> None:
    """Score steering settings on Transfer (BMLAMA facts as letter questions or cloze
    sentences, or --mcq files) and Localization (country-neutral BLEnD questions, asked in
    the language and in English), per model, language and setting.

    \b
    Configs: none, en-all (EN vector on all its blocks), en-mid (EN on its band),
    loc-deep (LOC on its band), surgical (EN band + LOC band), prompt (no vector; the
    country named in a system line: the ceiling a LOC vector imitates). --en-scale/
    --loc-scale sweep scales (default: each vector file's default_scale). English is
    always scored unsteered as the Transfer reference.

    \b
    With prompt and none in the run, every setting also gets its share of the ceiling's
    gain, (setting - none) / (prompt - none), and its known-facts Localization (accuracy
    on the items prompt answers right), with paired bootstrap intervals.

    \b
    Files in OUT: results.jsonl (one line per item; re-running the same command resumes
    where it stopped, --fresh starts over), summary.csv and summary.json (score, n and
    bootstrap 95 % interval per model, setting, language and metric; "ceiling": the
    shares), plane.png, plane-en.png, plane-facts.png; with several models (e.g.
    --quantize), models.json (type, size and bits per weight of each) and
    quantizations.{json,md,png} (the plane and tables across them).
    """
    paths = model_files(models) or [resolve_model(None)]
    types = [name.upper() for name in _list(quantize_types)] if quantize_types.strip() else []
    request = EvalRequest(
        models=paths,
        settings=expand(
            _list(configs),
            _scales(en_scale),
            _scales(loc_scale),
            _bands(en_layers),
            _bands(loc_layers),
            _list(localizes),
            en_at,
            loc_at,
        ),
        languages=list(languages),
        out=out or Path("runs"),
        vector_dirs=list(vector_dirs),
        split=split,
        limit=limit,
        blend_dir=blend_dir,
        bmlama_dir=bmlama_dir,
        mcq_dir=mcq_dir,
        fresh=fresh,
        transfer=transfer_format,
        localization=_list(measures),
        threads=threads,
        workers=workers,
        ray_address=ray_address,
    )
    if out is None:
        request.out = Path("runs") / f"eval-{split}-{_options_hash(request, types)}"
    info(f"Run directory: {request.out}")
    if types:
        request.models = prepare(paths, types, request.out, threads=threads, notify=info)
    report = run_eval(request)
    print_report(report)


def _list(text: str) -> list[str]:
    items = list(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    if not items:
        raise SurgsteerError(f"empty list: {text!r}")
    return items


def _scales(text: str) -> list[float | None]:
    if not text.strip():
        return [None]
    try:
        scales = [float(part) for part in _list(text)]
    except ValueError:
        raise SurgsteerError(f"scales must be numbers separated by commas, not {text!r}") from None
    return [check_scale(scale) for scale in scales]


def _bands(text: str) -> list[str | None]:
    """Comma-separated "A-B" bands (checked against each model when applied)."""
    if not text.strip():
        return [None]
    bands = _list(text)
    for band in bands:
        parse_band(band, sys.maxsize)  # the form only: each model checks its own depth
    return bands


def _options_hash(request: EvalRequest, quantize_types: Sequence[str]) -> str:
    """Eight hex digits that identify what the request evaluates."""
    options = {
        "models": [str(path.resolve()) for path in request.models],
        "settings": [setting.name for setting in request.settings],
        "languages": list(request.languages),
        "vectors": [str(Path(path).resolve()) for path in request.vector_dirs],
        "limit": request.limit,
        "transfer": request.transfer,
        "localization": list(request.localization),
        "data": [
            str(Path(directory).resolve()) if directory else None
            for directory in (request.blend_dir, request.bmlama_dir, request.mcq_dir)
        ],
    }
    if quantize_types:  # only then: older runs keep their directories
        options["quantize"] = list(quantize_types)
    return hashlib.sha256(json.dumps(options).encode()).hexdigest()[:8]
