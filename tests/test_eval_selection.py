"""Which items an evaluation scores: splits, filters, order, limits and bad data."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from surgsteer_cli.datasets.blend import LANGUAGE_REGION
from surgsteer_cli.datasets.splits import load_splits
from surgsteer_cli.errors import DataError
from surgsteer_cli.evaluation.selection import LANGUAGES, REFERENCE, item_key, load_eval_data
from tests.data_copies import renamed_blend_copy

REPO = Path(__file__).resolve().parents[1]
MCQ_SAMPLE = REPO / "tests" / "data" / "mcq"


@pytest.fixture(scope="module")
def full():
    return load_eval_data(LANGUAGES)


def test_languages_are_those_with_both_data_sets(full) -> None:
    """Every language other than English with BMLAMA facts and a BLEnD region in the shipped
    data, and each with items on both axes."""
    facts = {path.stem for path in (REPO / "prompts" / "bmlama").glob("*.jsonl")}
    regions = {path.stem for path in (REPO / "prompts" / "blend").glob("*.jsonl")}
    both = {lang for lang in facts - {REFERENCE} if LANGUAGE_REGION.get(lang) in regions}
    assert len(both) >= 8 and set(LANGUAGES) == both and len(LANGUAGES) == len(both)
    assert all(full.transfer[lang] and full.localization[lang] for lang in LANGUAGES)


def test_nothing_used_for_extraction_is_evaluated(full) -> None:
    splits = load_splits()
    for lang in LANGUAGES:
        blend_ids = {item.id for item in full.localization[lang]}
        assert blend_ids and blend_ids <= splits.blend_test
        assert not blend_ids & (splits.blend_extract | splits.blend_tune)
        rows = {item.row for item in full.transfer[lang]}
        assert rows and rows <= splits.bmlama_test
        assert not rows & splits.bmlama_extract


def test_localization_items_have_consensus_and_no_country_mention(full) -> None:
    for lang, items in full.localization.items():
        assert all(item.consensus and item.neutralized and item.language == lang for item in items)


def test_tune_split_is_disjoint_from_test() -> None:
    tune = load_eval_data(["ko"], split="tune")
    test = load_eval_data(["ko"], split="test")
    assert not {i.id for i in tune.localization["ko"]} & {i.id for i in test.localization["ko"]}
    assert not {i.row for i in tune.transfer["ko"]} & {i.row for i in test.transfer["ko"]}


def test_limit_takes_the_same_spread_out_items_in_every_language(full) -> None:
    small = load_eval_data(["ko", "zh"], limit=5)
    for axis in ("localization", "transfer"):
        ko, zh = ([item_key(i) for i in getattr(small, axis)[lang]] for lang in ("ko", "zh"))
        assert len(ko) == 5 and ko == zh
        assert ko == [item_key(i) for i in getattr(full, axis)["ko"][:5]]
    rows = sorted(int(key) for key in ko)
    assert rows != list(range(rows[0], rows[0] + 5))  # not a block of neighbouring rows


def test_english_reference_covers_the_chosen_facts() -> None:
    data = load_eval_data(["ko", "zh"], limit=4)
    assert {item_key(i) for i in data.transfer[REFERENCE]} == {
        item_key(i) for i in data.transfer["ko"]
    }
    assert REFERENCE not in data.localization


def test_multiple_choice_replaces_bmlama() -> None:
    data = load_eval_data(["ko"], mcq_dir=MCQ_SAMPLE)
    assert [type(i).__name__ for i in data.transfer["ko"]] == ["McqItem"] * 4
    # The sample's ko items have no ids, so none matches an en item: no English reference.
    assert REFERENCE not in data.transfer
    assert any("no reference" in note for note in data.notes)


def test_multiple_choice_reference_matches_ids(tmp_path: Path) -> None:
    shutil.copy(MCQ_SAMPLE / "en.csv", tmp_path / "en.csv")
    lines = (MCQ_SAMPLE / "en.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "ko.csv").write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    data = load_eval_data(["ko"], mcq_dir=tmp_path, limit=1)
    [chosen] = data.transfer["ko"]
    assert [item.id for item in data.transfer[REFERENCE]] == [chosen.id]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"languages": ["ko", "xx"]}, "cannot evaluate language.*xx"),
        ({"languages": ["en"]}, "cannot evaluate language.*en"),
        ({"languages": ["ko"], "split": "extract"}, "unknown split"),
        ({"languages": ["es"], "mcq_dir": MCQ_SAMPLE}, "no multiple-choice file for es"),
    ],
)
def test_bad_requests_are_data_errors(kwargs, message) -> None:
    with pytest.raises(DataError, match=message):
        load_eval_data(**kwargs)


def test_a_directory_in_the_wrong_format_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "ko.csv").write_text("Prompt,Ans\nx,y\n", encoding="utf-8")
    with pytest.raises(DataError, match="ko.tsv"):
        load_eval_data(["ko"], bmlama_dir=tmp_path)
    with pytest.raises(DataError, match="BLEnD layout"):
        load_eval_data(["ko"], blend_dir=tmp_path)


def test_zero_items_after_filtering_is_an_error(tmp_path: Path, shared_data: Path) -> None:
    """A BLEnD copy holding only extraction questions leaves nothing to evaluate."""
    source = shared_data / "blend"
    extract = load_splits().blend_extract
    (tmp_path / "annotations").mkdir()
    (tmp_path / "questions").mkdir()
    shutil.copy(source / "annotations" / "South_Korea_data.json", tmp_path / "annotations")
    with (source / "questions" / "South_Korea_questions.csv").open(encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header, rows = reader.fieldnames, [r for r in reader if r["ID"] in extract]
    with (tmp_path / "questions" / "South_Korea_questions.csv").open("w", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    assert rows
    with pytest.raises(DataError, match="no localization items left for ko"):
        load_eval_data(["ko"], blend_dir=tmp_path)


def test_mcq_items_share_options_and_order_across_languages() -> None:
    data = load_eval_data(["ko", "ar"], limit=20, transfer="mcq")
    english = {item.id: item for item in data.transfer[REFERENCE]}
    for ko, ar in zip(data.transfer["ko"], data.transfer["ar"], strict=True):
        assert ko.id == ar.id and ko.id.startswith("mcq:")
        assert ko.answer == ar.answer == english[ko.id].answer
        assert len(ko.options) == len(set(ko.options)) == 4
        assert "___" in ko.question
    cloze = load_eval_data(["ko"], transfer="cloze").transfer["ko"]
    golds = {str(item.row): item.answer for item in cloze}
    for item in data.transfer["ko"]:
        gold = item.options["ABCD".index(item.answer)]
        assert gold == golds[item.id.removeprefix("mcq:")]
    letters = {item.answer for item in load_eval_data(["ko"], transfer="mcq").transfer["ko"]}
    assert letters == {"A", "B", "C", "D"}


def test_a_blend_copy_with_other_ids_is_evaluated(shared_data: Path, tmp_path: Path) -> None:
    copy = renamed_blend_copy(shared_data, tmp_path / "blend", lambda key: f"user-{key}")
    test = load_eval_data(["ko"], blend_dir=copy).localization["ko"]
    tune = load_eval_data(["ko"], split="tune", blend_dir=copy).localization["ko"]
    assert len(test) > 40 and len(tune) > 10
    assert not {item.id for item in test} & {item.id for item in tune}
    assert all(item.id.startswith("user-") for item in test)


def test_listed_extraction_ids_are_never_evaluated_from_a_copy(
    shared_data: Path, tmp_path: Path
) -> None:
    copy = renamed_blend_copy(shared_data, tmp_path / "blend", lambda key: key)
    extraction = load_splits().blend_extract
    for split in ("tune", "test"):
        items = load_eval_data(["ko"], split=split, blend_dir=copy).localization["ko"]
        assert items and not {item.id for item in items} & extraction


def test_blend_instructions_come_from_the_copy_or_the_shipped_file(
    shared_data: Path,
) -> None:
    from surgsteer_cli.datasets.blend import REGION_LANGUAGE, load_instructions

    shipped = load_instructions(REGION_LANGUAGE)
    original = load_instructions(REGION_LANGUAGE, shared_data / "blend")
    assert shipped == original
    korean = shipped["South_Korea"]
    assert korean.english.startswith("Read the following question and provide a single answer")
    assert "{q}" not in korean.render("긴급 전화번호는?", local=True)
    assert "질문: 긴급 전화번호는?" in korean.render("긴급 전화번호는?", local=True)
