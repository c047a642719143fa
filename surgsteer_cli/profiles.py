"""Steering profiles: the EN and LOC vectors of one language for one model, combined into the
single control buffer llama.cpp applies."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from surgsteer_cli import vector_file
from surgsteer_cli.console import warn
from surgsteer_cli.errors import ModelMismatchError, SurgsteerError, VectorFileError
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.paths import resource_dir, user_vectors_dir
from surgsteer_cli.steering import Part, control_buffer
from surgsteer_cli.vector_file import ROLES, SteeringVector

MAX_SCALE = 10.0
"""Largest |scale| accepted. A scale is a fraction of a block's typical activation norm
(the shipped defaults are below 0.06, and 0.1 at the deep band already repeats one word), so
ten times a whole activation only ever destroys the answer; NaN and infinities never steer."""


def check_scale(scale: float) -> float:
    """``scale`` if it is finite and within +-MAX_SCALE, else a SurgsteerError: for scales
    people type (a file's ``default_scale`` is checked by ``vector_file.validate``)."""
    if not math.isfinite(scale) or abs(scale) > MAX_SCALE:
        raise SurgsteerError(
            f"scale {scale:g} is not a number from -{MAX_SCALE:g} to {MAX_SCALE:g}"
        )
    return scale


@dataclass
class Profile:
    """EN (transfer) and LOC (localization) vectors for ``language``; either may be missing."""

    language: str
    en: SteeringVector | None = None
    loc: SteeringVector | None = None
    sources: list[Path] = field(default_factory=list)

    def parts(
        self,
        *,
        en_scale: float | None = None,
        loc_scale: float | None = None,
        roles: Iterable[str] = ROLES,
    ) -> list[Part]:
        """(vector, scale, band blocks) for each of ``roles`` the profile has; scales default
        to each file's ``default_scale``."""
        explicit = {"en": en_scale, "loc": loc_scale}
        found = []
        for role in roles:
            vector = getattr(self, role)
            if vector is not None:
                scale = vector.default_scale if explicit[role] is None else explicit[role]
                found.append((vector, scale, vector.band_layers))
        return found

    def buffer(
        self, spec: ModelSpec, *, en_scale: float | None = None, loc_scale: float | None = None
    ) -> np.ndarray:
        """Both roles at their bands in one buffer (every token steered alike)."""
        return control_buffer(spec, self.parts(en_scale=en_scale, loc_scale=loc_scale))

    def scales(
        self, en_scale: float | None = None, loc_scale: float | None = None
    ) -> dict[str, float]:
        """The scales that ``parts`` would use for each role present."""
        parts = self.parts(en_scale=en_scale, loc_scale=loc_scale)
        return {vector.role: scale for vector, scale, _ in parts}


def default_dirs() -> list[Path]:
    """Where vectors are searched: the shipped ``vectors/`` (``$SURGSTEER_SHIPPED_VECTORS``
    replaces it; set it empty to leave shipped vectors out) and the user's vectors dir."""
    shipped = os.environ.get("SURGSTEER_SHIPPED_VECTORS")
    if shipped is None:
        return [resource_dir("vectors"), user_vectors_dir()]
    return [*([Path(shipped)] if shipped else []), user_vectors_dir()]


def discover(
    spec: ModelSpec, explicit: Iterable[Path] = (), *, strict: bool = True
) -> dict[str, Profile]:
    """Profiles for ``spec`` by language. Files under ``explicit`` dirs must all be valid and
    (when ``strict``; not for runs over several models) made for this model; elsewhere, broken
    files are skipped with a warning and vectors for other models are ignored."""
    profiles: dict[str, Profile] = {}
    for path, vector in _explicit_vectors(spec, explicit, strict):
        _add(profiles, path, vector)
    for directory in default_dirs():
        for path in sorted(directory.rglob("*.gguf")) if directory.is_dir() else []:
            try:
                vector = vector_file.read(path)
            except VectorFileError as exc:
                warn(f"skipping {exc}")
                continue
            if vector.model == spec:
                _add(profiles, path, vector, keep_existing=True)
    return profiles


def _explicit_vectors(
    spec: ModelSpec, dirs: Iterable[Path], strict: bool
) -> list[tuple[Path, SteeringVector]]:
    found = []
    for directory in dirs:
        directory = Path(directory)
        if directory.is_file():
            paths = [directory]
        elif directory.is_dir():
            paths = sorted(directory.rglob("*.gguf"))
        else:
            raise VectorFileError(f"{directory}: no such vector file or directory")
        if not paths:
            raise VectorFileError(f"{directory}: contains no .gguf vector files")
        for path in paths:
            vector = vector_file.read(path)
            try:
                vector.check_compatible(spec)
            except ModelMismatchError as exc:
                if not strict:
                    continue
                raise ModelMismatchError(f"{path}: {exc}") from None
            found.append((path, vector))
    return found


def _add(
    profiles: dict[str, Profile], path: Path, vector: SteeringVector, keep_existing: bool = False
) -> None:
    profile = profiles.setdefault(vector.language, Profile(vector.language))
    if getattr(profile, vector.role) is not None:
        if keep_existing:
            return
        raise VectorFileError(
            f"{path}: a second {vector.role} vector for {vector.language!r} "
            f"(first: {profile.sources[0]})"
        )
    setattr(profile, vector.role, vector)
    profile.sources.append(path)
    for message in vector.warnings:
        warn(f"{path}: {message}")
