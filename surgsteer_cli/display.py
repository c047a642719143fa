"""How the runtime describes its steering to people (Rich markup) and to programs (dicts)."""

from __future__ import annotations

from collections.abc import Iterable

from surgsteer_cli import langid
from surgsteer_cli.console import safe
from surgsteer_cli.engine import SAMPLING
from surgsteer_cli.session import (
    LOOP_MAX_PERIOD,
    LOOP_MIN_CHARS,
    LOOP_MIN_REPEATS,
    AnswerOptions,
    Session,
    Steering,
)


def layer_ranges(layers: Iterable[int]) -> str:
    """Blocks as compact ranges: [5, 6, 7, 9] -> "5-7,9"."""
    runs: list[list[int]] = []
    for layer in sorted(layers):
        if runs and layer == runs[-1][-1] + 1:
            runs[-1].append(layer)
        else:
            runs.append([layer])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def language_text(steering: Steering) -> str:
    """Like ``ko Korean (detected, confidence 0.98)`` or ``ko Korean (--lang)``."""
    if steering.language is None:
        return f"unknown (confidence {steering.confidence:.2f})"
    known = langid.LANGUAGES.get(steering.language)
    name = f"{steering.language} {known.name}" if known else steering.language
    if steering.confidence is None:
        return f"{name} (--lang)"
    return f"{name} (detected, confidence {steering.confidence:.2f})"


def profile_text(steering: Steering) -> str:
    """Like ``ko: EN x0.05 @ blocks 6-9, LOC x0.3 @ blocks 22-27 on the prompt, country in
    the system line``, or ``none (<why>)``."""
    if steering.profile is None:
        return f"none ({steering.note})"
    parts = []
    for role, layers in steering.layers.items():
        placement = steering.placements.get(role, "all")
        where = "" if placement == "all" else f" on the {placement}"
        parts.append(
            f"{role.upper()} x{steering.scales[role]:g} @ blocks {layer_ranges(layers)}{where}"
        )
    if steering.system:
        parts.append("country in the system line")
    text = f"{steering.profile}: {', '.join(parts)}"
    return f"{text} ({steering.note})" if steering.note else text


def header(session: Session, steering: Steering) -> str:
    """The lines printed above an answer: model, backend, language and profile."""
    engine = session.engine
    spec = engine.spec
    style = "bold green" if steering.profile else "yellow"
    model = safe(f"{engine.path.name} ({spec.architecture}, {spec.n_layer} blocks)")
    return "\n".join(
        [
            f"[dim]model[/dim]    {model} on [bold]{engine.backend}[/bold]",
            f"[dim]language[/dim] {safe(language_text(steering))}",
            f"[dim]profile[/dim]  [{style}]{safe(profile_text(steering))}[/{style}]",
        ]
    )


def steering_record(steering: Steering) -> dict[str, object]:
    """The steering as JSON-ready fields."""
    return {
        "language": steering.language,
        "confidence": None if steering.confidence is None else round(steering.confidence, 4),
        "language_source": "--lang" if steering.confidence is None else "detected",
        "profile": steering.profile,
        "localize": steering.localize,
        "system": steering.system,
        "scales": steering.scales,
        "layers": steering.layers,
        "placements": steering.placements,
        "note": steering.note,
        "vector_files": [str(path) for path in steering.files],
    }


def sampling_record(session: Session, options: AnswerOptions) -> dict[str, object]:
    """How an answer was sampled and where it stops, as JSON-ready fields."""
    return {
        "max_tokens": options.max_tokens,
        "temperature": options.temperature,
        "seed": options.seed,
        **SAMPLING,
        "stop": session.stop_sequences,
        "loop_detector": {
            "min_repeats": LOOP_MIN_REPEATS,
            "min_chars": LOOP_MIN_CHARS,
            "max_period": LOOP_MAX_PERIOD,
        },
    }
