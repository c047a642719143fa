"""Steering profiles: the EN and LOC vectors of one language for one model, and where they are
found (``steering`` turns a profile into what llama.cpp applies)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from surgsteer_cli import vector_file
from surgsteer_cli.console import warn
from surgsteer_cli.errors import ModelMismatchError, VectorFileError
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.paths import resource_dir, user_vectors_dir
from surgsteer_cli.vector_file import SteeringVector


@dataclass
class Profile:
    """EN (transfer) and LOC (localization) vectors for ``language``; either may be missing."""

    language: str
    en: SteeringVector | None = None
    loc: SteeringVector | None = None
    sources: list[Path] = field(default_factory=list)


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
