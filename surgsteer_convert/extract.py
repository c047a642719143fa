"""Turn measured directions into tagged, normalized steering-vector files.

Each file carries a direction for every steerable block 1..n_layer-1 (so evaluation can try any
layers) and tags its default ``band``. A direction is stored as a unit vector times the block's
typical state norm, so a scale s always adds s x "one typical activation" at each steered block.
Unless a scale is given (as tuned with ``surgsteer eval --split tune``), ``default_scale``
spreads the contrast's natural shift over the band: the mean over the band of (natural shift /
typical norm), divided by the band's width.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.model_spec import ModelSpec, parse_band
from surgsteer_cli.vector_file import SteeringVector, validate, write
from surgsteer_convert.contrasts import ORTHOGONALIZED_METHODS
from surgsteer_convert.directions import BlockDirections, Measurement, orthogonalize

Band = tuple[int, int]
__all__ = ["Band", "build_vectors", "parse_band", "write_vectors"]
NORMALIZATION = (
    "direction.N = unit direction x mean per-token L2 norm of block N's output over the "
    "contrast prompts (special tokens excluded); scale s adds s x that typical norm per block"
)


def build_vectors(
    measurement: Measurement,
    spec: ModelSpec,
    en_band: Band,
    loc_band: Band,
    band_source: str,
    scales: dict[str, float | None] | None = None,
) -> list[SteeringVector]:
    """The EN and LOC vectors of every measured language, validated. ``scales`` maps a role
    to the ``default_scale`` its files get (None or absent: the natural-shift rule)."""
    scales = scales or {}
    vectors = []
    for lang in measurement.data.languages:
        en, loc = measurement.en[lang], measurement.loc[lang]
        loc_vectors, loc_note = loc.vectors, ""
        if measurement.loc_method in ORTHOGONALIZED_METHODS:
            loc_vectors = orthogonalize(loc.vectors, en.vectors)
            loc_note = "; orthogonalized against the EN direction at each block"
        for role, source, raw, band, note in (
            ("en", en, en.vectors, en_band, ""),
            ("loc", loc, loc_vectors, loc_band, loc_note),
        ):
            kind = "EN" if role == "en" else f"LOC ({measurement.loc_method} method)"
            scale = scales.get(role)
            scale_rule = (
                "mean over the band of shift / typical norm, divided by the band width"
                if scale is None
                else "set at extraction (tuned on the evaluation tune split)"
            )
            method = (
                f"{kind}: {measurement.aggregate} aggregation of {measurement.pool}-pooled block "
                f"outputs, {source.contrast.description}{note}; band {band[0]}-{band[1]} from "
                f"{band_source}; default_scale {scale_rule}"
            )
            vector = _vector(role, lang, spec, source, raw, band, method, scale)
            validate(vector)
            vectors.append(vector)
    return vectors


def write_vectors(vectors: list[SteeringVector], out: Path) -> list[Path]:
    """Write each vector to ``<out>/<language>.<role>.gguf`` (atomically); return the paths."""
    return [write(vector, out / f"{vector.language}.{vector.role}.gguf") for vector in vectors]


def _vector(
    role: str,
    language: str,
    spec: ModelSpec,
    source: BlockDirections,
    raw: np.ndarray,
    band: Band,
    method: str,
    scale: float | None,
) -> SteeringVector:
    shift = np.linalg.norm(raw, axis=1)
    if not np.all(shift[1:] > 0):
        raise SurgsteerError(f"{role}/{language}: the contrast gives a zero direction")
    units = raw / shift[:, None]
    directions = {
        n: (units[n] * source.typical_norm[n]).astype(np.float32) for n in range(1, spec.n_layer)
    }
    relative = shift / source.typical_norm
    width = band[1] - band[0] + 1
    return SteeringVector(
        role=role,
        language=language,
        model=spec,
        directions=directions,
        default_scale=float(relative[band[0] : band[1] + 1].mean() / width)
        if scale is None
        else scale,
        band=band,
        method=method,
        normalization=NORMALIZATION,
    )
