"""Which items an evaluation scores: the chosen split, minus anything used for extraction.

Localization: BLEnD questions of each language's default region (``LANGUAGE_REGION``) with the
country mention removed; questions without annotator consensus, or whose mention could not be
removed, are skipped. Transfer: BMLAMA cloze facts, or the ``--mcq`` files when given; English
is the reference language and is scored on the union of the facts chosen for the others.

Items are taken in a fixed pseudo-random order (SHA-256 of the item key), so ``--limit N`` is a
spread-out sample and picks the same questions and facts in every language.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from surgsteer_cli.datasets.blend import LANGUAGE_REGION, BlendItem, load_blend
from surgsteer_cli.datasets.bmlama import LANGUAGES as BMLAMA_LANGUAGES
from surgsteer_cli.datasets.bmlama import ClozeItem, load_bmlama
from surgsteer_cli.datasets.mcq import McqItem, load_mcq
from surgsteer_cli.datasets.splits import assert_disjoint, load_splits
from surgsteer_cli.errors import DataError

REFERENCE = "en"
LANGUAGES = tuple(lang for lang in BMLAMA_LANGUAGES if lang != REFERENCE)
"""Languages with both BLEnD questions and BMLAMA facts: ko zh es id el fa ar az."""
SPLITS = ("tune", "test")

TransferItem = ClozeItem | McqItem
T = TypeVar("T")


@dataclass
class EvalData:
    """Items per language for each axis; ``transfer`` also holds the English reference."""

    localization: dict[str, list[BlendItem]]
    transfer: dict[str, list[TransferItem]]
    notes: list[str] = field(default_factory=list)


def item_key(item: BlendItem | TransferItem) -> str:
    """The identifier of an item within its language (BLEnD ID, BMLAMA row, MCQ id)."""
    return str(item.row) if isinstance(item, ClozeItem) else item.id


def load_eval_data(
    languages: Sequence[str],
    *,
    split: str = "test",
    limit: int | None = None,
    blend_dir: Path | None = None,
    bmlama_dir: Path | None = None,
    mcq_dir: Path | None = None,
) -> EvalData:
    """Load, filter and order the items of both axes for ``languages``."""
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown:
        raise DataError(
            f"cannot evaluate language(s) {', '.join(unknown)}; choose from {', '.join(LANGUAGES)}"
        )
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    data = EvalData(localization={}, transfer={})
    _add_localization(data, languages, split, limit, blend_dir)
    if mcq_dir is None:
        _add_cloze(data, languages, split, limit, bmlama_dir)
    else:
        _add_mcq(data, languages, limit, mcq_dir)
    for axis in ("localization", "transfer"):
        for lang, items in getattr(data, axis).items():
            if not items:
                raise DataError(f"no {axis} items left for {lang} after filtering")
    return data


def _add_localization(
    data: EvalData, languages: Sequence[str], split: str, limit: int | None, directory: Path | None
) -> None:
    splits = load_splits()
    chosen = getattr(splits, f"blend_{split}")
    for lang in languages:
        region = LANGUAGE_REGION[lang]
        pool = [item for item in load_blend([region], directory) if item.id in chosen]
        usable = [item for item in pool if item.consensus and item.neutralized]
        assert_disjoint(
            (item.id for item in usable), splits.blend_extract, f"BLEnD {split} vs extraction"
        )
        data.localization[lang] = _ordered(usable, item_key)[:limit]
        data.notes.append(
            f"{lang}: BLEnD {region} {split} split: {len(pool)} questions, {len(usable)} with "
            f"consensus and neutralized, {len(data.localization[lang])} used"
        )


def _add_cloze(
    data: EvalData, languages: Sequence[str], split: str, limit: int | None, directory: Path | None
) -> None:
    splits = load_splits()
    chosen = getattr(splits, f"bmlama_{split}")
    loaded = load_bmlama([*languages, REFERENCE], directory)
    for lang in languages:
        pool = [item for item in loaded[lang] if item.row in chosen]
        assert_disjoint(
            (item.row for item in pool), splits.bmlama_extract, f"BMLAMA {split} vs extraction"
        )
        data.transfer[lang] = _ordered(pool, item_key)[:limit]
    _add_reference(data, loaded[REFERENCE])
    data.notes.append(
        f"BMLAMA {split} split: {len(data.transfer[languages[0]])} facts per language"
    )


def _add_mcq(data: EvalData, languages: Sequence[str], limit: int | None, directory: Path) -> None:
    available = load_mcq(directory)
    missing = [lang for lang in languages if lang not in available]
    if missing:
        raise DataError(f"{directory}: no multiple-choice file for {', '.join(missing)}")
    for lang in languages:
        data.transfer[lang] = _ordered(available[lang], item_key)[:limit]
    if REFERENCE in available:
        _add_reference(data, available[REFERENCE])
    else:
        data.notes.append(f"{directory} has no {REFERENCE} file: no English reference")


def _add_reference(data: EvalData, items: Sequence[TransferItem]) -> None:
    """English items with the keys chosen in any other language (for consistency)."""
    wanted = {item_key(item) for chosen in data.transfer.values() for item in chosen}
    reference = [item for item in items if item_key(item) in wanted]
    if reference:
        data.transfer[REFERENCE] = _ordered(reference, item_key)
    else:
        data.notes.append(f"no {REFERENCE} item shares an id with the others: no reference")


def _ordered(items: Sequence[T], key: Callable[[T], str]) -> list[T]:
    """``items`` in a fixed pseudo-random order that depends only on their keys."""
    return sorted(items, key=lambda item: hashlib.sha256(f"eval:{key(item)}".encode()).digest())
