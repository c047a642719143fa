"""Which items an evaluation scores: the chosen split, minus anything used for extraction.

Culture facts (``datasets.facts``) are split by kind, not by item: the split's kinds for
every language.

Localization: BLEnD questions of each language's default region (``LANGUAGE_REGION``) with the
country mention removed; questions without annotator consensus, or whose mention could not be
removed, are skipped. Transfer: BMLAMA facts as cloze sentences (``cloze``) or as four-option
questions (``mcq``, see ``datasets.mcq.from_cloze``), or the ``--mcq`` files when given;
English is the reference language and is scored on the union of the facts chosen for the
others. A split holds the keys ``prompts/splits.json`` lists for it, and unlisted keys by
``Splits.part_of``, so any copy of BLEnD or BMLAMA in its own layout can be evaluated.

Items are taken in a fixed pseudo-random order (SHA-256 of the item key), so ``--limit N`` is a
spread-out sample and picks the same questions and facts in every language.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from surgsteer_cli.datasets.blend import (
    LANGUAGE_REGION,
    BlendItem,
    Instruction,
    load_blend,
    load_instructions,
)
from surgsteer_cli.datasets.bmlama import LANGUAGES as BMLAMA_LANGUAGES
from surgsteer_cli.datasets.bmlama import ClozeItem, load_bmlama
from surgsteer_cli.datasets.facts import FactItem, load_facts
from surgsteer_cli.datasets.mcq import McqItem, from_cloze, load_mcq
from surgsteer_cli.datasets.splits import Splits, assert_disjoint, load_splits
from surgsteer_cli.errors import DataError

REFERENCE = "en"
LANGUAGES = tuple(lang for lang in BMLAMA_LANGUAGES if lang != REFERENCE)
"""Languages with both BLEnD questions and BMLAMA facts: ko zh es id el fa ar az."""
SPLITS = ("tune", "test")
TRANSFER_FORMATS = ("mcq", "cloze")

TransferItem = ClozeItem | McqItem
T = TypeVar("T")


@dataclass
class EvalData:
    """Items per language for each axis; ``transfer`` also holds the English reference."""

    localization: dict[str, list[BlendItem]]
    transfer: dict[str, list[TransferItem]]
    facts: dict[str, list[FactItem]] = field(default_factory=dict)
    instructions: dict[str, Instruction] = field(default_factory=dict)  # BLEnD's, per language
    notes: list[str] = field(default_factory=list)


def item_key(item: BlendItem | TransferItem | FactItem) -> str:
    """The identifier of an item within its language (BLEnD ID, BMLAMA row, MCQ id, fact
    kind)."""
    return str(item.row) if isinstance(item, ClozeItem) else item.id


def load_eval_data(
    languages: Sequence[str],
    *,
    split: str = "test",
    limit: int | None = None,
    transfer: str = "cloze",
    blend_dir: Path | None = None,
    bmlama_dir: Path | None = None,
    mcq_dir: Path | None = None,
) -> EvalData:
    """Load, filter and order the items of both axes for ``languages``; ``transfer`` is the
    format of BMLAMA facts (``cloze`` or ``mcq``), unused with ``mcq_dir``."""
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown:
        raise DataError(
            f"cannot evaluate language(s) {', '.join(unknown)}; choose from {', '.join(LANGUAGES)}"
        )
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    if transfer not in TRANSFER_FORMATS:
        raise DataError(f"unknown transfer format {transfer!r}; choose from mcq, cloze")
    data = EvalData(localization={}, transfer={})
    _add_localization(data, languages, split, limit, blend_dir)
    data.facts = {lang: items[:limit] for lang, items in load_facts(languages, split).items()}
    if mcq_dir is None:
        _add_bmlama(data, languages, split, limit, bmlama_dir, transfer)
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
    for lang in languages:
        region = LANGUAGE_REGION[lang]
        pool = _in_split(load_blend([region], directory), splits, "blend", split)
        usable = [item for item in pool if item.consensus and item.neutralized]
        data.localization[lang] = _ordered(usable, item_key)[:limit]
        data.instructions[lang] = load_instructions([region], directory)[region]
        data.notes.append(
            f"{lang}: BLEnD {region} {split} split: {len(pool)} questions, {len(usable)} with "
            f"consensus and neutralized, {len(data.localization[lang])} used"
        )


def _add_bmlama(
    data: EvalData,
    languages: Sequence[str],
    split: str,
    limit: int | None,
    directory: Path | None,
    transfer: str,
) -> None:
    splits = load_splits()
    loaded = {
        lang: _in_split(items, splits, "bmlama", split)
        for lang, items in load_bmlama([*languages, REFERENCE], directory).items()
    }
    facts: dict[str, list[TransferItem]] = (
        from_cloze(loaded) if transfer == "mcq" else loaded  # type: ignore[assignment]
    )
    for lang in languages:
        data.transfer[lang] = _ordered(facts[lang], item_key)[:limit]
    _add_reference(data, facts[REFERENCE])
    kind = "four-option questions" if transfer == "mcq" else "cloze facts"
    data.notes.append(
        f"BMLAMA {split} split: {len(data.transfer[languages[0]])} {kind} per language"
    )


def _in_split(items: Sequence[T], splits: Splits, source: str, split: str) -> list[T]:
    """The items of ``split``; never one listed or hashed into the extraction split."""
    chosen = [item for item in items if splits.part_of(source, _raw_key(item)) == split]
    extraction = getattr(splits, f"{source}_extract")
    assert_disjoint(
        (_raw_key(item) for item in chosen), extraction, f"{source} {split} vs extraction"
    )
    return chosen


def _raw_key(item: object) -> str | int:
    """The key the splits file uses: a BLEnD ID or a BMLAMA row number."""
    return item.row if isinstance(item, ClozeItem) else item.id  # type: ignore[attr-defined]


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
