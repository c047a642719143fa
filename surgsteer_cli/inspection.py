"""What is inside vector files: for ``surgsteer vectors ls`` and ``vectors inspect``."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from surgsteer_cli import vector_file
from surgsteer_cli.errors import VectorFileError
from surgsteer_cli.vector_file import SteeringVector

TOP_K = 3
DOMINATED = 0.5
"""A direction with more than this share of its squared norm in TOP_K coordinates is flagged."""


@dataclass(frozen=True)
class Listing:
    """One ``.gguf`` file found: its vector, or why it could not be read."""

    path: Path
    vector: SteeringVector | None
    error: str | None = None


def list_vectors(dirs: Iterable[Path]) -> list[Listing]:
    """Every ``.gguf`` file under ``dirs`` (recursively, sorted), read and validated."""
    return _read_all(path for d in dirs for path in sorted(Path(d).rglob("*.gguf")))


def summary(listing: Listing) -> dict[str, object]:
    """The ``vectors ls`` fields of a readable file, JSON-ready."""
    vector = listing.vector
    return {
        "file": str(listing.path),
        "model": dataclasses.asdict(vector.model),
        "language": vector.language,
        "role": vector.role,
        "layers": vector.layers,
        "band": list(vector.band) if vector.band else None,
        "scale": vector.default_scale,
    }


def tags(path: Path) -> dict[str, object]:
    """All key/values stored in a vector file (``read`` it first: this assumes it is valid)."""
    import gguf

    reader = gguf.GGUFReader(path, "r")
    return {
        name: field.contents()
        for name, field in reader.fields.items()
        if not name.startswith("GGUF.")  # gguf-py's view of the header, not stored keys
    }


def sibling(path: Path, vector: SteeringVector) -> tuple[Path, SteeringVector] | None:
    """The vector of the other role for the same language and model in the same directory."""
    other_role = "loc" if vector.role == "en" else "en"
    for listing in _read_all(sorted(path.parent.glob("*.gguf"))):
        other = listing.vector
        if (
            other is not None
            and other.role == other_role
            and other.language == vector.language
            and other.model == vector.model
        ):
            return listing.path, other
    return None


def inspect(path: Path) -> dict[str, object]:
    """Tags, band, and per-layer norms of a vector file, plus cos(EN, LOC) per shared layer
    when the other role's file sits beside it."""
    vector = vector_file.read(path)
    found = sibling(path, vector)
    layers = []
    for layer in vector.layers:
        direction = vector.directions[layer]
        row: dict[str, object] = {
            "block": layer,
            "norm": float(np.linalg.norm(direction)),
            "top3_share": top_share(direction),
            "in_band": layer in vector.band_layers,
        }
        if found is not None:
            row["cos_other_role"] = _cosine(direction, found[1].directions.get(layer))
        layers.append(row)
    return {
        "file": str(path),
        "tags": tags(path),
        "band": list(vector.band) if vector.band else None,
        "sibling": str(found[0]) if found else None,
        "layers": layers,
        "warnings": vector.warnings,
    }


def top_share(direction: np.ndarray, k: int = TOP_K) -> float:
    """Share of the squared norm in the ``k`` largest coordinates: near k / n_embd for a
    spread-out direction, near 1 for one that "massive activation" coordinates dominate."""
    squared = np.sort(np.square(direction.astype(np.float64)))[::-1]
    total = float(squared.sum())
    return float(squared[:k].sum()) / total if total > 0 else 0.0


def _read_all(paths: Iterable[Path]) -> list[Listing]:
    listings = []
    for path in paths:
        try:
            listings.append(Listing(path, vector_file.read(path)))
        except VectorFileError as exc:
            listings.append(Listing(path, None, str(exc)))
    return listings


def _cosine(a: np.ndarray, b: np.ndarray | None) -> float | None:
    if b is None:
        return None
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norms if norms > 0 else None
