"""Which items an evaluation scores: splits, filters, order, limits and bad data."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from surgsteer_cli.datasets.splits import load_splits
from surgsteer_cli.errors import DataError
from surgsteer_cli.evaluation.selection import LANGUAGES, REFERENCE, item_key, load_eval_data

REPO = Path(__file__).resolve().parents[1]
MCQ_SAMPLE = REPO / "tests" / "data" / "mcq"


@pytest.fixture(scope="module")
def full():
    return load_eval_data(LANGUAGES)


def test_languages_are_those_with_both_data_sets() -> None:
    assert LANGUAGES == ("ko", "zh", "es", "id", "el", "fa", "ar", "az")


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
