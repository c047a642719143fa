"""Measure a model's EN and LOC directions at every block, for several languages at once."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from surgsteer_cli.errors import SurgsteerError
from surgsteer_convert.activations import DEFAULT_BATCH_TOKENS, POOLS, States, collect
from surgsteer_convert.aggregate import AGGREGATORS, Aggregator
from surgsteer_convert.contrasts import (
    LOC_METHODS,
    RELATIVE_METHODS,
    Contrast,
    ExtractionData,
    en_contrast,
    load_extraction_data,
    loc_contrast,
)

if TYPE_CHECKING:
    from surgsteer_convert.loading import LoadedModel


@dataclass
class BlockDirections:
    """One contrast measured at every block."""

    vectors: np.ndarray  # [n_layer, n_embd]: aggregate of positives vs negatives, natural size
    typical_norm: np.ndarray  # [n_layer]: mean per-token state norm over the contrast's prompts
    contrast: Contrast

    @property
    def relative_norm(self) -> np.ndarray:
        """||direction|| / typical state norm, per block."""
        return np.linalg.norm(self.vectors, axis=1) / self.typical_norm


@dataclass
class Measurement:
    """Everything measured for a set of languages on one model."""

    data: ExtractionData
    states: States
    pool: str
    aggregate: str
    loc_method: str
    en: dict[str, BlockDirections]
    loc: dict[str, BlockDirections]  # relative to the others (contrast), not orthogonalized

    def each(self) -> Iterator[tuple[str, str, BlockDirections]]:
        """(role, language, directions) of every measured vector, "en" then "loc"."""
        for role, found in (("en", self.en), ("loc", self.loc)):
            for language, directions in found.items():
                yield role, language, directions


def block_directions(
    states: States, contrast: Contrast, pool: str, aggregator: Aggregator
) -> BlockDirections:
    """Aggregate the contrast's paired states block by block."""
    positives = states.take(contrast.positives, pool)
    negatives = states.take(contrast.negatives, pool)
    vectors = np.stack(
        [aggregator(positives[:, n], negatives[:, n]) for n in range(positives.shape[1])]
    )
    typical = states.norms([*contrast.positives, *contrast.negatives]).mean(axis=0)
    return BlockDirections(vectors.astype(np.float32), typical, contrast)


def check_comparable(languages: Sequence[str]) -> None:
    """The relative LOC methods compare countries: refuse fewer than two languages."""
    if len(languages) < 2:
        raise SurgsteerError(
            f"the {' and '.join(RELATIVE_METHODS)} LOC methods compare countries: extract at "
            "least two languages together (e.g. --all), or choose --loc-method country"
        )


def relative_to_others(loc: dict[str, BlockDirections]) -> dict[str, BlockDirections]:
    """Each language's LOC shift minus the mean shift of the other languages (RELATIVE_METHODS)."""
    check_comparable(list(loc))
    total = sum(directions.vectors for directions in loc.values())
    relative = {}
    for lang, directions in loc.items():
        others = [other for other in loc if other != lang]
        mean_of_others = (total - directions.vectors) / len(others)
        contrast = dataclasses.replace(
            directions.contrast,
            description=f"{directions.contrast.description}; minus the mean of the same shift "
            f"for {', '.join(others)}",
        )
        vectors = (directions.vectors - mean_of_others).astype(np.float32)
        relative[lang] = BlockDirections(vectors, directions.typical_norm, contrast)
    return relative


def orthogonalize(vectors: np.ndarray, against: np.ndarray) -> np.ndarray:
    """Row-wise: remove from ``vectors[n]`` its component along ``against[n]``."""
    unit = against / np.linalg.norm(against, axis=1, keepdims=True)
    return vectors - (vectors * unit).sum(axis=1, keepdims=True) * unit


def measure(
    loaded: LoadedModel,
    languages: Sequence[str],
    *,
    loc_method: str = "language",
    aggregate: str = "mean",
    pool: str = "mean",
    max_items: int | None = None,
    max_batch_tokens: int = DEFAULT_BATCH_TOKENS,
    for_analysis: bool = True,
) -> Measurement:
    """Load the extraction data, run the model once over it, and measure EN and LOC directions.

    ``for_analysis=False`` skips the prompts only the layer analysis needs.
    """
    for value, allowed, what in (
        (loc_method, LOC_METHODS, "LOC method"),
        (aggregate, AGGREGATORS, "aggregation"),
        (pool, POOLS, "pooling"),
    ):
        if value not in allowed:
            raise SurgsteerError(f"unknown {what} {value!r}: choose from {', '.join(allowed)}")
    data = load_extraction_data(languages, max_items)
    if loc_method in RELATIVE_METHODS:
        check_comparable(data.languages)  # before the forward passes, not after
    en = {lang: en_contrast(data, lang) for lang in data.languages}
    loc = {lang: loc_contrast(data, lang, loc_method) for lang in data.languages}
    prompts = [
        prompt
        for contrast in (*en.values(), *loc.values())
        for prompt in (*contrast.positives, *contrast.negatives)
    ]
    if for_analysis:
        prompts += data.probe_prompts()
    states = collect(loaded, prompts, pools=[pool], max_batch_tokens=max_batch_tokens)

    def directions(contrasts: dict[str, Contrast]) -> dict[str, BlockDirections]:
        aggregator = AGGREGATORS[aggregate]
        return {
            lang: block_directions(states, c, pool, aggregator) for lang, c in contrasts.items()
        }

    loc_directions = directions(loc)
    if loc_method in RELATIVE_METHODS:
        loc_directions = relative_to_others(loc_directions)
    return Measurement(data, states, pool, aggregate, loc_method, directions(en), loc_directions)
