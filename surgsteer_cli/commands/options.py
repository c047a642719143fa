"""Click options shared by the commands, so that one name has one meaning everywhere
(``docs/options.md``). ``model_options`` hands a command that loads a model (``ask``, ``chat``,
``doctor``, ``serve``) ``runtime`` (RuntimeOptions), ``steering_options`` hands it ``options``
(AnswerOptions)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from surgsteer_cli.cpus import cpu_count
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.models import DEFAULT_MODEL, NAMED_MODELS
from surgsteer_cli.session import (
    DEFAULT_LOCALIZE,
    LOCALIZE,
    AnswerOptions,
    RuntimeOptions,
    SteeringRequest,
)
from surgsteer_cli.steering import MAX_SCALE, check_scale
from surgsteer_cli.vector_file import PLACEMENTS

MODEL_HELP = (
    f"Model name ({', '.join(NAMED_MODELS)}; `surgsteer models` lists them) or GGUF file. "
    f"[default: {DEFAULT_MODEL}]"
)


def model_option(*, multiple: bool = False, help: str = MODEL_HELP) -> Callable[..., Any]:
    """``--model NAME|PATH`` (``$SURGSTEER_MODEL``): the same option in every command."""
    return click.option(
        "--model",
        "models" if multiple else "model",
        multiple=multiple,
        envvar="SURGSTEER_MODEL",
        show_envvar=True,
        metavar="NAME|PATH",
        help=help,
    )


def vectors_option(
    dest: str = "vectors",
    help: str = "Extra vector file or directory (repeatable); every file in it must fit the model.",
) -> Callable[..., Any]:
    """``--vectors DIR`` (repeatable): the same option in every command that reads vectors."""
    return click.option(
        "--vectors",
        dest,
        multiple=True,
        type=click.Path(path_type=Path),
        metavar="DIR",
        help=help,
    )


def threads_option() -> Callable[..., Any]:
    """``--threads N`` (``$SURGSTEER_THREADS``): CPU threads of each loaded model."""
    return click.option(
        "--threads",
        type=click.IntRange(min=1, max=cpu_count()),
        envvar="SURGSTEER_THREADS",
        show_envvar=True,
        help="CPU threads, at most the machine's CPUs [default: the CPUs not busy with other "
        "work when the model loads].",
    )


_MODEL_OPTIONS = (
    model_option(),
    click.option(
        "--gpu-layers",
        type=click.IntRange(min=-1),
        envvar="SURGSTEER_GPU_LAYERS",
        show_envvar=True,
        help="Layers to offload to the GPU (-1: all) [default: all with a GPU build, else 0].",
    ),
    threads_option(),
    vectors_option(),
)


def language_option(*, help: str, required: bool = False) -> Callable[..., Any]:
    """``--lang CODE``: one language, in the commands that take one (a list is refused)."""

    def one(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is not None and "," in value:
            raise click.BadParameter(f"takes one language code, not {value!r}", ctx, param)
        return value

    return click.option(
        "--lang",
        metavar="CODE",
        required=required,
        callback=one,
        help=f"{help} One ISO 639-1 code.",
    )


def _codes(ctx: click.Context, param: click.Parameter, values: Sequence[str]) -> tuple[str, ...]:
    """``ko,zh`` and ``ko`` ``zh`` alike: the codes in lower case, in order, each once."""
    codes: list[str] = []
    for value in values:
        found = [part.strip().lower() for part in value.split(",") if part.strip()]
        if not found:
            raise click.BadParameter(f"no language code in {value!r}", ctx, param)
        codes += found
    return tuple(dict.fromkeys(codes))


def languages_option(
    name: str = "--lang", dest: str = "languages", *, help: str, default: Sequence[str] = ()
) -> Callable[..., Any]:
    """``--lang ko,zh`` or ``--lang ko --lang zh``: several languages, in the commands that
    take several; the command gets a tuple of codes (empty when none is given)."""
    return click.option(
        name,
        dest,
        multiple=True,
        default=tuple(default),
        show_default=bool(default),
        metavar="CODE[,CODE...]",
        callback=_codes,
        help=f"{help} ISO 639-1 codes, comma-separated or repeated.",
    )


def _finite_scale(minimum: float = -MAX_SCALE) -> Callable[..., float | None]:
    """A click callback: the scale if it is finite, within +-MAX_SCALE and not below
    ``minimum``."""

    def check(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
        try:
            if value is not None and check_scale(value) < minimum:
                raise SurgsteerError(f"scale {value:g} is below {minimum:g}")
        except SurgsteerError as exc:
            raise click.BadParameter(str(exc), ctx, param) from None
        return value

    return check


def scale_option(role: str) -> Callable[..., Any]:
    """``--en-scale S`` / ``--loc-scale S``: the scale to apply instead of the file's."""
    return click.option(
        f"--{role}-scale",
        type=float,
        callback=_finite_scale(),
        help=f"{role.upper()}-steering scale, |s| <= {MAX_SCALE:g} [default: from the file].",
    )


def default_scale_option(role: str) -> Callable[..., Any]:
    """``--default-en-scale S`` / ``--default-loc-scale S``: the scale a written file stores
    as its default (not one applied now: that is ``--en-scale``/``--loc-scale``)."""
    return click.option(
        f"--default-{role}-scale",
        type=float,
        callback=_finite_scale(0),
        help=f"default_scale stored in the {role.upper()} files, 0 to {MAX_SCALE:g} [default: "
        "the contrast's own shift].",
    )


def localize_option() -> Callable[..., Any]:
    """``--localize prompt|vector|both``: how the language's culture reaches the model."""
    return click.option(
        "--localize",
        type=click.Choice(LOCALIZE),
        default=DEFAULT_LOCALIZE,
        show_default=True,
        help="How the profile's culture reaches the model: 'prompt' names the country in a "
        "system line, 'vector' adds the LOC vector, 'both' does both. EN steering is always "
        "a vector.",
    )


def placement_option(role: str) -> Callable[..., Any]:
    """``--en-at`` / ``--loc-at``: which tokens a role's vector steers."""
    return click.option(
        f"--{role}-at",
        type=click.Choice(PLACEMENTS),
        help=f"Tokens the {role.upper()} vector steers: all (as stock llama.cpp), prompt (not "
        "the answer), question (not the assistant prefix either) [default: from the file].",
    )


_STEERING_OPTIONS = (
    language_option(help="Use this language's profile instead of detecting it."),
    localize_option(),
    scale_option("en"),
    scale_option("loc"),
    placement_option("en"),
    placement_option("loc"),
    click.option("--no-steer", is_flag=True, help="Answer without any steering."),
    click.option(
        "--max-tokens",
        type=click.IntRange(min=1),
        default=200,
        show_default=True,
        help="Longest answer in tokens.",
    ),
    click.option(
        "--temperature",
        type=click.FloatRange(min=0),
        default=0.0,
        show_default=True,
        help="Sampling temperature (0: greedy).",
    ),
    click.option("--seed", type=int, default=0, show_default=True, help="Sampling seed."),
)


def model_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --model/--gpu-layers/--threads/--vectors; the command gets ``runtime`` instead."""

    @functools.wraps(command)
    def wrapper(
        *args: Any,
        model: str | None,
        gpu_layers: int | None,
        threads: int | None,
        vectors: tuple[Path, ...],
        **kwargs: Any,
    ) -> Any:
        runtime = RuntimeOptions(
            model=model, gpu_layers=gpu_layers, threads=threads, vectors=tuple(vectors)
        )
        return command(*args, runtime=runtime, **kwargs)

    return _apply(_MODEL_OPTIONS, wrapper)


def steering_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the options that choose the steering and the sampling of an answer; the command
    gets ``options`` (AnswerOptions) instead."""

    @functools.wraps(command)
    def wrapper(
        *args: Any,
        lang: str | None,
        localize: str,
        en_scale: float | None,
        loc_scale: float | None,
        en_at: str | None,
        loc_at: str | None,
        no_steer: bool,
        max_tokens: int,
        temperature: float,
        seed: int,
        **kwargs: Any,
    ) -> Any:
        request = SteeringRequest(
            language=lang,
            steer=not no_steer,
            en_scale=en_scale,
            loc_scale=loc_scale,
            localize=localize,
            en_at=en_at,
            loc_at=loc_at,
        )
        answer_options = AnswerOptions(
            request=request,
            max_tokens=max_tokens,
            temperature=temperature,
            seed=seed,
        )
        return command(*args, options=answer_options, **kwargs)

    return _apply(_STEERING_OPTIONS, wrapper)


def _apply(options: tuple[Callable[..., Any], ...], command: Callable[..., Any]) -> Any:
    for option in reversed(options):
        command = option(command)
    return command
