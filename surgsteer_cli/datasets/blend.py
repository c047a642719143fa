"""BLEnD: everyday cultural knowledge questions for 16 regions, with country mentions removed.

Source: Myung et al., "BLEnD: A Benchmark for LLMs on Everyday Knowledge in Diverse Cultures
and Languages" (NeurIPS 2024 Datasets & Benchmarks), CC BY-SA 4.0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from surgsteer_cli.datasets._io import load_shipped, read_json, read_table, require_file
from surgsteer_cli.datasets.neutralize import neutralize
from surgsteer_cli.errors import DataError
from surgsteer_cli.paths import resource_dir

__all__ = [
    "INSTRUCTION_ID",
    "LANGUAGE_REGION",
    "REGION_LANGUAGE",
    "BlendItem",
    "Instruction",
    "load_blend",
    "load_instructions",
    "neutralize",
]

INSTRUCTION_ID = "inst-4"
"""BLEnD's short-answer prompt: "Read the following question and provide a single answer
without any explanations.\n\nQuestion: {q}\nAnswer:", with its translation per region."""
INSTRUCTIONS_FILE = "instructions.json"

REGION_LANGUAGE: dict[str, str] = {
    "UK": "en",
    "US": "en",
    "South_Korea": "ko",
    "North_Korea": "ko",
    "China": "zh",
    "Spain": "es",
    "Mexico": "es",
    "Indonesia": "id",
    "West_Java": "su",
    "Greece": "el",
    "Iran": "fa",
    "Algeria": "ar",
    "Assam": "as",
    "Azerbaijan": "az",
    "Ethiopia": "am",
    "Northern_Nigeria": "ha",
}
"""BLEnD region (file stem) -> ISO 639-1 code of its questions' language."""

LANGUAGE_REGION: dict[str, str] = {
    "ko": "South_Korea",
    "zh": "China",
    "es": "Spain",
    "id": "Indonesia",
    "el": "Greece",
    "fa": "Iran",
    "ar": "Algeria",
    "az": "Azerbaijan",
    "su": "West_Java",
    "as": "Assam",
    "am": "Ethiopia",
    "ha": "Northern_Nigeria",
    "en": "US",
}
"""Default region for a language (where several regions share one)."""

# BLEnD skips a question when annotators lacked consensus (and we skip unanswered ones).
_MAX_NO_ANSWER = 3  # no-answer + not-applicable at or above this -> skipped
_MAX_IDK = 5  # "I don't know" at or above this -> skipped


@dataclass(frozen=True)
class BlendItem:
    """One BLEnD question for one region, with its annotator answers."""

    id: str
    region: str
    language: str
    question: str  # local-language question as in BLEnD (names the country)
    question_en: str  # English translation (names the country)
    neutral: str  # local question with the country mention removed
    neutral_en: str  # English question with the country mention removed
    neutralized: bool  # True if the local-language transform removed every mention
    answers: tuple[str, ...]  # local-language annotator answers
    answers_en: tuple[str, ...]  # their English translations
    consensus: bool  # False where BLEnD skips the question, or no annotator answered it

    def to_record(self) -> dict[str, Any]:
        """The JSON-ready form written to ``prompts/blend/<Region>.jsonl``."""
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> BlendItem:
        """Inverse of :meth:`to_record`."""
        return cls(
            **{
                **record,
                "answers": tuple(record["answers"]),
                "answers_en": tuple(record["answers_en"]),
            }
        )


def load_blend(
    regions: Iterable[str] | None = None, directory: Path | None = None
) -> list[BlendItem]:
    """Load BLEnD items for ``regions`` (default: all 16), in region then file order.

    ``directory=None`` reads the processed files shipped in ``prompts/blend/``; a directory
    is read in BLEnD's own layout: ``annotations/<Region>_data.json`` and
    ``questions/<Region>_questions.csv``.
    """
    chosen = list(REGION_LANGUAGE) if regions is None else list(regions)
    unknown = [region for region in chosen if region not in REGION_LANGUAGE]
    if unknown:
        raise DataError(
            f"unknown BLEnD region(s) {', '.join(unknown)}; known: {', '.join(REGION_LANGUAGE)}"
        )
    items: list[BlendItem] = []
    for region in chosen:
        if directory is None:
            items.extend(load_shipped("blend", region, BlendItem.from_record))
        else:
            items.extend(_load_original(Path(directory), region))
    return items


@dataclass(frozen=True)
class Instruction:
    """BLEnD's instruction template for one region, in English and in the local language;
    ``{q}`` marks where the question goes."""

    english: str
    local: str

    def render(self, question: str, *, local: bool) -> str:
        """The instruction with ``question`` in place (the local or the English template)."""
        return (self.local if local else self.english).replace("{q}", question)


def load_instructions(
    regions: Iterable[str], directory: Path | None = None
) -> dict[str, Instruction]:
    """BLEnD's ``inst-4`` template per region: from ``prompts/<Region>_prompts.csv`` in a
    BLEnD directory, else from the shipped ``prompts/blend/instructions.json``."""
    if directory is not None and (Path(directory) / "prompts").is_dir():
        return {region: _original_instruction(Path(directory), region) for region in regions}
    path = resource_dir("prompts") / "blend" / INSTRUCTIONS_FILE
    shipped = read_json(require_file(path, "BLEnD instructions"))
    try:
        return {region: Instruction(**shipped[region]) for region in regions}
    except (KeyError, TypeError) as exc:
        raise DataError(f"{path}: no usable instruction for {exc}") from None


def _original_instruction(directory: Path, region: str) -> Instruction:
    path = require_file(
        directory / "prompts" / f"{region}_prompts.csv",
        "BLEnD layout: prompts/<Region>_prompts.csv",
    )
    for row in read_table(path, ("id", "English", "Translation")):
        if row["id"] == INSTRUCTION_ID and "{q}" in row["English"] and "{q}" in row["Translation"]:
            return Instruction(english=row["English"].strip(), local=row["Translation"].strip())
    raise DataError(f"{path}: no {INSTRUCTION_ID} template with a {{q}} slot")


def _load_original(directory: Path, region: str) -> list[BlendItem]:
    layout = "BLEnD layout: annotations/<Region>_data.json, questions/<Region>_questions.csv"
    annotations_path = require_file(directory / "annotations" / f"{region}_data.json", layout)
    questions_path = require_file(directory / "questions" / f"{region}_questions.csv", layout)
    annotations = read_json(annotations_path)
    questions = read_table(questions_path, ("ID", "Question", "Translation"))
    items = []
    for row in questions:
        record = annotations.get(row["ID"]) if isinstance(annotations, dict) else None
        if not isinstance(record, dict):
            raise DataError(f"{annotations_path}: no annotations for question {row['ID']}")
        try:
            items.append(_make_item(region, row, record))
        except (KeyError, TypeError) as exc:
            raise DataError(f"{annotations_path}: malformed record {row['ID']} ({exc})") from exc
    return items


def _make_item(region: str, row: dict[str, str], record: dict[str, Any]) -> BlendItem:
    language = REGION_LANGUAGE[region]
    question, question_en = row["Question"].strip(), row["Translation"].strip()
    neutral, neutralized = neutralize(question, language, region)
    neutral_en, _ = neutralize(question_en, "en", region)
    groups = record["annotations"]
    answers = _unique(answer for group in groups for answer in group["answers"])
    return BlendItem(
        id=row["ID"],
        region=region,
        language=language,
        question=question,
        question_en=question_en,
        neutral=neutral,
        neutral_en=neutral_en,
        neutralized=neutralized,
        answers=answers,
        answers_en=_unique(answer for group in groups for answer in group["en_answers"]),
        consensus=bool(answers) and _has_consensus(record["idks"]),
    )


def _has_consensus(idks: dict[str, int]) -> bool:
    no_answer = idks.get("no-answer", 0) + idks.get("not-applicable", 0)
    return no_answer < _MAX_NO_ANSWER and idks.get("idk", 0) < _MAX_IDK


def _unique(answers: Iterable[str]) -> tuple[str, ...]:
    """Stripped, non-empty answers in first-seen order, without duplicates."""
    return tuple(dict.fromkeys(answer.strip() for answer in answers if answer.strip()))
