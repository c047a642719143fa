"""Contrast sets: paired prompts whose state difference defines a steering direction.

Only EXTRACTION items of the project's splits are used, so evaluation never sees them.

- EN for language L: a BMLAMA-53 fact in English (positive) vs the same fact in L (negative),
  the cloze sentence with ``<mask>`` filled by the answer.
- LOC for L, ``language`` method: a BLEnD question in L (positive) vs the same question in
  English (negative), both naming the country.
- LOC for L, ``country`` method: a BLEnD question naming L's country (positive) vs the same
  question with the country removed (negative), L and English versions pooled. The direction is
  later orthogonalized against the EN direction (see ``surgsteer_convert.directions``).
- LOC for L, ``contrast`` method: the same pairs as ``country``; once measured,
  the mean shift of the other languages' countries is subtracted from L's, so what naming *a*
  country does (bring up China, the model's default) cancels and what naming L's country does
  remains (``surgsteer_convert.directions.relative_to_others``).
- LOC for L, ``answers`` method: a BLEnD question with the country removed (where the L
  version allows it) followed by the top answer of L's annotators (positive) vs the question
  alone (negative), L and English versions pooled; the other languages' mean shift is
  subtracted as for ``contrast``, so what remains is L's annotators' answer minus the other
  countries' answers to the same questions: the culture, with no country named.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from surgsteer_cli.datasets.blend import LANGUAGE_REGION, BlendItem, load_blend
from surgsteer_cli.datasets.bmlama import LANGUAGES as BMLAMA_LANGUAGES
from surgsteer_cli.datasets.bmlama import MASK, ClozeItem, load_bmlama
from surgsteer_cli.datasets.splits import load_splits
from surgsteer_cli.errors import DataError

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

LANGUAGES = tuple(lang for lang in BMLAMA_LANGUAGES if lang != "en" and lang in LANGUAGE_REGION)
"""Languages with vectors: both axes (BMLAMA facts and a BLEnD region) exist for them."""
LOC_METHODS = ("country", "contrast", "answers", "language")
RELATIVE_METHODS = ("contrast", "answers")
"""LOC methods that subtract the other extracted languages' mean shift (need two or more)."""
ORTHOGONALIZED_METHODS = ("country", "contrast", "answers")
"""LOC methods whose direction is orthogonalized against EN (the language method is EN's
opposite by construction)."""


@dataclass(frozen=True)
class Contrast:
    """``positives[i]`` and ``negatives[i]`` differ only in the contrasted property."""

    positives: tuple[str, ...]
    negatives: tuple[str, ...]
    description: str

    def __post_init__(self) -> None:
        if len(self.positives) != len(self.negatives):
            raise ValueError("a contrast needs as many positives as negatives")
        if not self.positives:
            raise DataError(f"empty contrast set: {self.description}")


@dataclass(frozen=True)
class ExtractionData:
    """Extraction-split items aligned across languages (same rows / same IDs, same order)."""

    cloze: dict[str, list[ClozeItem]]  # "en" and every chosen language
    blend: dict[str, list[BlendItem]]  # every chosen language, its default BLEnD region

    @property
    def languages(self) -> list[str]:
        """The chosen languages (English excluded)."""
        return list(self.blend)

    def probe_prompts(self) -> list[str]:
        """What the culture probe of the layer analysis reads besides the contrasts."""
        items = [item for items in self.blend.values() for item in items]
        return [item.question_en for item in items] + [item.neutral for item in items]


def check_languages(languages: Sequence[str]) -> list[str]:
    """The distinct languages in order; DataError naming any without vectors support."""
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown:
        raise DataError(
            f"unknown language {', '.join(unknown)}: vectors can be made for {', '.join(LANGUAGES)}"
        )
    if not languages:
        raise DataError("no language chosen")
    return list(dict.fromkeys(languages))


def load_extraction_data(languages: Sequence[str], max_items: int | None = None) -> ExtractionData:
    """Load the extraction split for ``languages``: at most ``max_items`` rows/IDs of each kind."""
    languages = check_languages(languages)
    splits = load_splits()
    cloze = load_bmlama(["en", *languages])
    rows = set.intersection(*({item.row for item in items} for items in cloze.values()))
    rows = sorted(rows & splits.bmlama_extract)[:max_items]
    cloze = {lang: _ordered(items, rows, lambda item: item.row) for lang, items in cloze.items()}
    regions = [LANGUAGE_REGION[lang] for lang in languages]
    by_region: dict[str, list[BlendItem]] = {region: [] for region in regions}
    for item in load_blend(regions):
        by_region[item.region].append(item)
    ids = set.intersection(*({item.id for item in items} for items in by_region.values()))
    ids = sorted(ids & splits.blend_extract)[:max_items]
    blend = {
        lang: _ordered(by_region[LANGUAGE_REGION[lang]], ids, lambda item: item.id)
        for lang in languages
    }
    return ExtractionData(cloze, blend)


def filled(item: ClozeItem) -> str:
    """The cloze sentence with its mask replaced by the answer."""
    return item.prompt.replace(MASK, item.answer)


def en_contrast(data: ExtractionData, language: str) -> Contrast:
    """English (positive) vs ``language`` (negative) on parallel BMLAMA facts."""
    english, local = data.cloze["en"], data.cloze[language]
    return Contrast(
        tuple(filled(item) for item in english),
        tuple(filled(item) for item in local),
        f"English minus {language} on {len(english)} parallel BMLAMA-53 facts "
        "(cloze sentence with the answer filled in)",
    )


def loc_contrast(data: ExtractionData, language: str, method: str) -> Contrast:
    """The LOC contrast for ``language`` by ``method`` (one of LOC_METHODS)."""
    items = data.blend[language]
    region = items[0].region if items else language
    if method == "language":
        pairs = [(item.question, item.question_en) for item in items]
        text = f"BLEnD question in {language} minus the same question in English ({region})"
    elif method in ("country", "contrast"):
        pairs = [(item.question, item.neutral) for item in items if item.neutralized]
        pairs += [(item.question_en, item.neutral_en) for item in items]
        text = (
            f"BLEnD question naming {region} minus the same question with the country removed, "
            f"{language} and English versions pooled"
        )
    elif method == "answers":
        answered = [item for item in items if item.answers and item.answers_en]
        pairs = [(_answered(item.neutral, item.answers[0]), item.neutral) for item in answered]
        pairs += [
            (_answered(item.neutral_en, item.answers_en[0]), item.neutral_en) for item in answered
        ]
        text = (
            f"BLEnD question with the country removed followed by {region} annotators' top "
            f"answer minus the question alone, {language} and English versions pooled"
        )
    else:
        raise DataError(f"unknown LOC method {method!r}: choose from {', '.join(LOC_METHODS)}")
    pairs = [(positive, negative) for positive, negative in pairs if positive != negative]
    positives = tuple(positive for positive, _ in pairs)
    negatives = tuple(negative for _, negative in pairs)
    return Contrast(positives, negatives, f"{text}; {len(pairs)} pairs")


def _answered(question: str, answer: str) -> str:
    """``question`` with ``answer`` on the next line, as a transcript would show it."""
    return f"{question}\n{answer}"


def _ordered(items: Sequence[T], keys: Sequence[K], key_of: Callable[[T], K]) -> list[T]:
    """``items`` picked and ordered by ``keys``."""
    by_key = {key_of(item): item for item in items}
    return [by_key[key] for key in keys]
