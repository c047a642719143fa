"""Click options shared by the commands that load a model (``ask``, ``chat``, ``doctor``):
``model_options`` hands the command ``runtime`` (RuntimeOptions), ``steering_options`` hands it
``settings`` (AnswerSettings)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from surgsteer_cli.engine import cpu_count
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.models import DEFAULT_MODEL, NAMED_MODELS
from surgsteer_cli.profiles import MAX_SCALE, check_scale
from surgsteer_cli.session import AnswerSettings, RuntimeOptions

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


def _scale_option(role: str) -> Callable[..., Any]:
    """``--en-scale`` or ``--loc-scale``: a finite number within +-MAX_SCALE."""

    def check(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
        try:
            return None if value is None else check_scale(value)
        except SurgsteerError as exc:
            raise click.BadParameter(str(exc), ctx, param) from None

    return click.option(
        f"--{role}-scale",
        type=float,
        callback=check,
        help=f"{role.upper()}-steering scale, |s| <= {MAX_SCALE:g} [default: from the file].",
    )


_STEERING_OPTIONS = (
    click.option(
        "--lang",
        metavar="CODE",
        help="Use this language's profile (ISO 639-1) instead of detecting it.",
    ),
    _scale_option("en"),
    _scale_option("loc"),
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
    gets ``settings`` instead."""

    @functools.wraps(command)
    def wrapper(
        *args: Any,
        lang: str | None,
        en_scale: float | None,
        loc_scale: float | None,
        no_steer: bool,
        max_tokens: int,
        temperature: float,
        seed: int,
        **kwargs: Any,
    ) -> Any:
        settings = AnswerSettings(
            language=lang,
            steer=not no_steer,
            en_scale=en_scale,
            loc_scale=loc_scale,
            max_tokens=max_tokens,
            temperature=temperature,
            seed=seed,
        )
        return command(*args, settings=settings, **kwargs)

    return _apply(_STEERING_OPTIONS, wrapper)


def _apply(options: tuple[Callable[..., Any], ...], command: Callable[..., Any]) -> Any:
    for option in reversed(options):
        command = option(command)
    return command
