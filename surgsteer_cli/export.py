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

from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.evaluation.settings import CEILING, CONFIGS, Setting
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.models import model_metadata
from surgsteer_cli.profiles import Profile, discover
from surgsteer_cli.steering import control_buffer
from surgsteer_cli.vector_file import BakedPart, ExportedVector

EXPORT_CONFIGS = tuple(config for config in CONFIGS if config not in ("none", CEILING))
"""Configs with a vector to bake: stock llama.cpp cannot name the country (use a system
prompt there) nor steer only the prompt."""


def bake(profile: Profile, spec: ModelSpec, setting: Setting) -> ExportedVector:
    """The exported vector of ``profile`` under ``setting``: the rows of the control buffer
    that ``setting`` gives, as sparse ``direction.N``."""
    parts = [part for part in setting.parts(profile, spec) if part[1]]
    if not parts:
        raise SurgsteerError(f"nothing to export: every scale of {setting.name} is 0")
    buffer = control_buffer(spec, parts)
    blocks = sorted({layer for _, _, layers in parts for layer in layers})
    return ExportedVector(
        language=profile.language,
        model=spec,
        config=setting.config,
        parts=[
            BakedPart(vector.role, scale, tuple(layers), vector.method)
            for vector, scale, layers in parts
        ],
        directions={block: buffer[block - 1].copy() for block in blocks},
    )


def export_language(
    model: Path,
    language: str,
    setting: Setting,
    vector_dirs: Iterable[Path] = (),
) -> ExportedVector:
    """Bake ``language``'s profile for ``model`` (found as ``ask`` finds it) under ``setting``."""
    spec = ModelSpec.from_metadata(model_metadata(model))
    profiles = discover(spec, vector_dirs)
    code = language.strip().lower()
    profile = profiles.get(code)
    if profile is None:
        have = ", ".join(sorted(profiles)) or "none"
        raise SurgsteerError(f"no {code!r} profile for {model.name} (profiles: {have})")
    return bake(profile, spec, setting)
