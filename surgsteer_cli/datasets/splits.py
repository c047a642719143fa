"""Fixed extract / tune / test splits, so vectors are never evaluated on their own prompts.

Rule: every item key (BLEnD question ID, BMLAMA original row number) is ranked by
``sha256(f"{SALT}:{key}")``; the first ranks go to ``extract``, the next to ``tune``, the
rest to ``test``. The ranking is independent of Python's ``hash()`` and of file order, so
the same IDs always land in the same split. ``prompts/splits.json`` stores the result.

Keys the file does not list (a user's own BLEnD or BMLAMA copy) get a part from the same hash
read as a fraction in [0, 1), cut at the listed parts' shares: so any copy can be evaluated,
and a key listed for extraction is always refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from surgsteer_cli import paths
from surgsteer_cli.datasets._io import read_json, require_file
from surgsteer_cli.errors import DataError

SALT = "surgsteer-splits-v1"
BLEND_SHARES = (0.35, 0.20)  # extract, tune; the rest is test
BMLAMA_COUNTS = (300, 200)  # extract, tune; the rest is test
_PARTS = ("extract", "tune", "test")


@dataclass(frozen=True)
class Splits:
    """Disjoint BLEnD IDs and BMLAMA rows for vector extraction, tuning and testing."""

    blend_extract: frozenset[str]
    blend_tune: frozenset[str]
    blend_test: frozenset[str]
    bmlama_extract: frozenset[int]
    bmlama_tune: frozenset[int]
    bmlama_test: frozenset[int]

    def part_of(self, source: str, key: str | int) -> str:
        """``extract``, ``tune`` or ``test`` for a BLEnD ID (``source="blend"``) or BMLAMA
        row (``"bmlama"``); unlisted keys by the hash fraction (module doc)."""
        parts = [getattr(self, f"{source}_{part}") for part in _PARTS]
        for part, keys in zip(_PARTS, parts, strict=True):
            if key in keys:
                return part
        total = sum(len(keys) for keys in parts)
        fraction = int(hashlib.sha256(f"{SALT}:{key}".encode()).hexdigest()[:8], 16) / 16**8
        if fraction < len(parts[0]) / total:
            return "extract"
        return "tune" if fraction < (len(parts[0]) + len(parts[1])) / total else "test"


def make_splits(blend_ids: Iterable[str], bmlama_rows: Iterable[int]) -> Splits:
    """Apply the splitting rule to the given BLEnD IDs and BMLAMA rows."""
    blend = _rank(set(blend_ids))
    n_extract, n_tune = (round(share * len(blend)) for share in BLEND_SHARES)
    blend_parts = _cut(blend, n_extract, n_tune)
    bmlama = _rank(set(bmlama_rows))
    bmlama_parts = _cut(bmlama, *BMLAMA_COUNTS)
    return Splits(*map(frozenset, blend_parts), *map(frozenset, bmlama_parts))


def splits_to_json(splits: Splits) -> str:
    """Human-readable JSON: the rule, then sorted lists per data set and part."""
    record: dict[str, Any] = {
        "rule": (
            f'rank each key by sha256("{SALT}:<key>"); BLEnD IDs: first '
            f"{BLEND_SHARES[0]:.0%} extract, next {BLEND_SHARES[1]:.0%} tune, rest test; "
            f"BMLAMA rows usable in all languages: first {BMLAMA_COUNTS[0]} extract, next "
            f"{BMLAMA_COUNTS[1]} tune, rest test"
        ),
        "salt": SALT,
    }
    for source in ("blend", "bmlama"):
        record[source] = {part: sorted(getattr(splits, f"{source}_{part}")) for part in _PARTS}
    return json.dumps(record, ensure_ascii=False, indent=1) + "\n"


def load_splits(path: Path | None = None) -> Splits:
    """Read ``prompts/splits.json`` (or ``path``) and check the parts are disjoint."""
    path = path or paths.resource_dir("prompts") / "splits.json"
    record = read_json(require_file(path, "splits file"))
    try:
        blend = [frozenset(str(key) for key in record["blend"][part]) for part in _PARTS]
        bmlama = [frozenset(int(key) for key in record["bmlama"][part]) for part in _PARTS]
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: malformed splits ({exc})") from exc
    for parts, source in ((blend, "BLEnD"), (bmlama, "BMLAMA")):
        for index, part in enumerate(parts):
            for other in parts[index + 1 :]:
                assert_disjoint(part, other, f"{path}: {source} splits")
    return Splits(*blend, *bmlama)


def assert_disjoint(
    evaluated: Iterable[Hashable], extraction: Iterable[Hashable], what: str
) -> None:
    """Raise DataError naming the items that are both evaluated and used for extraction."""
    overlap = set(evaluated) & set(extraction)
    if overlap:
        shown = ", ".join(sorted(map(str, overlap))[:5])
        more = f" and {len(overlap) - 5} more" if len(overlap) > 5 else ""
        raise DataError(f"{what}: {len(overlap)} item(s) in both sets: {shown}{more}")


def _rank(keys: set[Any]) -> list[Any]:
    return sorted(keys, key=lambda key: hashlib.sha256(f"{SALT}:{key}".encode()).hexdigest())


def _cut(ranked: list[Any], n_extract: int, n_tune: int) -> tuple[list[Any], ...]:
    if n_extract + n_tune > len(ranked):
        raise DataError(f"cannot split {len(ranked)} items into {n_extract} + {n_tune} + rest")
    return ranked[:n_extract], ranked[n_extract : n_extract + n_tune], ranked[n_extract + n_tune :]
