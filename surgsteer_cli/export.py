"""One language's steering baked into a single control-vector file for stock llama.cpp.

llama.cpp's loader sums its files, each at one strength, and applies one layer range to all of
them, so the profile's per-role bands and scales cannot be expressed with flags. The export
holds what ``surgsteer ask --lang L`` puts in its control buffer instead: ``direction.N`` =
sum of scale x direction over the roles steering block N, only for steered blocks (llama.cpp
treats the missing ones as zero), to be loaded at strength 1 with no layer range.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from surgsteer_cli import steering
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.models import model_metadata
from surgsteer_cli.profiles import Profile, discover
from surgsteer_cli.steering import CONFIG_ROLES, VECTOR_CONFIGS
from surgsteer_cli.vector_file import BakedPart, ExportedVector

EXPORT_CONFIGS = VECTOR_CONFIGS
"""Configs with a vector to bake: stock llama.cpp cannot name the country (use a system
prompt there) nor steer only the prompt."""


def bake(
    profile: Profile,
    spec: ModelSpec,
    config: str = "surgical",
    *,
    en_scale: float | None = None,
    loc_scale: float | None = None,
) -> ExportedVector:
    """The exported vector of ``profile`` under ``config`` at these scales (None: the file's):
    the rows of the control buffer it gives, as sparse ``direction.N``."""
    missing = steering.missing(profile, CONFIG_ROLES[config])
    if missing:
        raise SurgsteerError(f"{config} needs {', '.join(missing)} vectors")
    parts = steering.parts(profile, spec, config, en_scale=en_scale, loc_scale=loc_scale)
    parts = [part for part in parts if part[1]]
    if not parts:
        raise SurgsteerError(f"nothing to export: every scale of {config} is 0")
    buffer = steering.control_buffer(spec, parts)
    blocks = sorted({layer for _, _, layers in parts for layer in layers})
    return ExportedVector(
        language=profile.language,
        model=spec,
        config=config,
        parts=[
            BakedPart(vector.role, scale, tuple(layers), vector.method)
            for vector, scale, layers in parts
        ],
        directions={block: buffer[block - 1].copy() for block in blocks},
    )


def export_language(
    model: Path,
    language: str,
    config: str = "surgical",
    *,
    en_scale: float | None = None,
    loc_scale: float | None = None,
    vector_dirs: Iterable[Path] = (),
) -> ExportedVector:
    """Bake ``language``'s profile for ``model`` (found as ``ask`` finds it) under ``config``."""
    spec = ModelSpec.from_metadata(model_metadata(model))
    profiles = discover(spec, vector_dirs)
    code = language.strip().lower()
    profile = profiles.get(code)
    if profile is None:
        have = ", ".join(sorted(profiles)) or "none"
        raise SurgsteerError(f"no {code!r} profile for {model.name} (profiles: {have})")
    return bake(profile, spec, config, en_scale=en_scale, loc_scale=loc_scale)
