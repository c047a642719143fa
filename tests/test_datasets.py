"""Dataset loaders, country neutralization and splits, on the real BLEnD and BMLAMA data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from surgsteer_cli.datasets.blend import (
    LANGUAGE_REGION,
    REGION_LANGUAGE,
    load_blend,
    neutralize,
)
from surgsteer_cli.datasets.bmlama import LANGUAGES, MASK, load_bmlama, shuffled_candidates
from surgsteer_cli.datasets.mcq import load_mcq
from surgsteer_cli.datasets.splits import assert_disjoint, load_splits, make_splits
from surgsteer_cli.errors import DataError

REPO = Path(__file__).resolve().parents[1]
MCQ_SAMPLE = REPO / "tests" / "data" / "mcq"
MAIN_REGIONS = ("South_Korea", "China", "Spain", "Indonesia", "Greece", "Iran", "Algeria",
                "Azerbaijan", "US")  # fmt: skip

# Surface forms that give each region away, written independently of the neutralizer's rules.
GIVEAWAYS = {
    "South_Korea": ("대한민국", "한국"),
    "China": ("中国",),
    "Spain": ("España", "español"),
    "Indonesia": ("Indonesia",),
    "Greece": ("Ελλάδ", "Έλλην", "ελληνικ"),
    "Iran": ("ایران", "کشور شما"),
    "Algeria": ("الجزائر", "جزائري"),
    "Azerbaijan": ("Azərbaycan",),
    "US": (" US", "the US", "United States"),
}
ENGLISH_GIVEAWAYS = {
    **{region: (region.replace("_", " "),) for region in REGION_LANGUAGE},
    "UK": (" UK",),
    "US": (" US",),
}


@pytest.fixture(scope="module")
def shared_data() -> Path:
    """The original BLEnD and BMLAMA files, beside the repository in ``../shared/data``."""
    path = REPO.parent / "shared" / "data"
    if not (path / "blend").is_dir() or not (path / "bmlama").is_dir():
        pytest.skip(f"original BLEnD/BMLAMA files not found at {path}")
    return path


@pytest.fixture(scope="module")
def blend():
    return load_blend()


# --- BLEnD -----------------------------------------------------------------------------------


def test_shipped_blend_equals_original_layout(shared_data: Path, blend) -> None:
    assert load_blend(directory=shared_data / "blend") == blend


def test_blend_has_every_question_in_every_region(blend) -> None:
    ids = {
        region: [item.id for item in blend if item.region == region] for region in REGION_LANGUAGE
    }
    assert all(len(region_ids) == 262 for region_ids in ids.values())
    assert len({frozenset(region_ids) for region_ids in ids.values()}) == 1
    assert all(item.language == REGION_LANGUAGE[item.region] for item in blend)
    assert all(item.answers and item.answers_en for item in blend if item.consensus)


def test_language_defaults_point_at_regions_of_that_language() -> None:
    assert all(REGION_LANGUAGE[region] == language for language, region in LANGUAGE_REGION.items())


def test_region_filter_keeps_requested_order() -> None:
    items = load_blend(["Iran", "South_Korea"])
    assert [items[0].region, items[-1].region] == ["Iran", "South_Korea"]
    assert len(items) == 2 * 262


def test_unknown_region_is_a_data_error() -> None:
    with pytest.raises(DataError, match="Korea_South"):
        load_blend(["Korea_South"])


def test_missing_blend_layout_is_a_one_line_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        load_blend(["Spain"], directory=tmp_path)
    assert "annotations" in str(caught.value) and "\n" not in str(caught.value)


def _write_blend(directory: Path, records: dict[str, dict]) -> None:
    (directory / "annotations").mkdir(parents=True)
    (directory / "questions").mkdir()
    (directory / "annotations" / "Spain_data.json").write_text(json.dumps(records))
    lines = [",ID,Topic,Source,Question,Translation"]
    lines += [f'{n},{key},Food,x,"{r["question"]}","{r["en_question"]}"' for n, (key, r) in
              enumerate(records.items())]  # fmt: skip
    (directory / "questions" / "Spain_questions.csv").write_text("\n".join(lines) + "\n")


def _record(idks: dict[str, int]) -> dict:
    return {
        "question": "¿Qué se come en España?",
        "en_question": "What is eaten in Spain?",
        "annotations": [
            {"answers": ["paella", " tortilla "], "en_answers": ["paella"], "count": 3},
            {"answers": ["paella"], "en_answers": ["omelette"], "count": 1},
        ],
        "idks": idks,
    }


def test_consensus_follows_blend_thresholds(tmp_path: Path) -> None:
    _write_blend(
        tmp_path,
        {
            "ok": _record({"idk": 4, "no-answer": 1, "not-applicable": 1}),
            "no-answer": _record({"idk": 0, "no-answer": 2, "not-applicable": 1}),
            "idk": _record({"idk": 5, "no-answer": 0, "not-applicable": 0}),
        },
    )
    items = {item.id: item for item in load_blend(["Spain"], directory=tmp_path)}
    assert {key: item.consensus for key, item in items.items()} == {
        "ok": True,
        "no-answer": False,
        "idk": False,
    }
    first = items["ok"]
    assert first.answers == ("paella", "tortilla")
    assert first.answers_en == ("paella", "omelette")
    assert (first.neutral, first.neutral_en) == ("¿Qué se come?", "What is eaten?")


def test_question_without_annotations_is_a_data_error(tmp_path: Path) -> None:
    _write_blend(tmp_path, {"a": _record({})})
    annotations = tmp_path / "annotations" / "Spain_data.json"
    annotations.write_text("{}")
    with pytest.raises(DataError, match="no annotations for question a"):
        load_blend(["Spain"], directory=tmp_path)


# --- Neutralization ----------------------------------------------------------------------------


@pytest.mark.parametrize("region", MAIN_REGIONS)
def test_local_questions_lose_the_country_name(blend, region: str) -> None:
    items = [item for item in blend if item.region == region]
    clean = [item for item in items if not any(word in item.neutral for word in GIVEAWAYS[region])]
    assert len(clean) / len(items) >= 0.95
    assert sum(item.neutralized for item in items) / len(items) >= 0.95


@pytest.mark.parametrize("region", list(REGION_LANGUAGE))
def test_english_questions_lose_the_country_name(blend, region: str) -> None:
    items = [item for item in blend if item.region == region]
    clean = [
        item
        for item in items
        if not any(word in item.neutral_en for word in ENGLISH_GIVEAWAYS[region])
    ]
    assert len(clean) / len(items) >= 0.95


def test_neutral_questions_stay_questions(blend) -> None:
    """Only the mention goes: the question keeps its final mark and most of its text."""
    for item in blend:
        for original, neutral in (
            (item.question, item.neutral),
            (item.question_en, item.neutral_en),
        ):
            assert neutral[-1] == original.rstrip()[-1], (original, neutral)
            assert len(neutral) >= 0.4 * len(original), (original, neutral)


@pytest.mark.parametrize(
    ("question", "language", "region", "expected"),
    [
        ("대한민국에서 맥주와 함께 즐겨먹는 음식은 무엇인가요?", "ko", "South_Korea",
         "맥주와 함께 즐겨먹는 음식은 무엇인가요?"),
        ("날씨가 추울 때 대한민국 사람들은 보통 어떤 음식을 먹나요?", "ko", "South_Korea",
         "날씨가 추울 때 사람들은 보통 어떤 음식을 먹나요?"),
        ("북한사람들이 가장 좋아 하는 국 종류는 무엇인가요?", "ko", "North_Korea",
         "사람들이 가장 좋아 하는 국 종류는 무엇인가요?"),
        ("在中国，人们怎么庆祝万圣节前夜？", "zh", "China", "人们怎么庆祝万圣节前夜？"),
        ("天气冷的时候，中国人通常喝什么饮料？", "zh", "China",
         "天气冷的时候，人们通常喝什么饮料？"),
        ("¿Qué suelen comer los españoles de postre?", "es", "Spain",
         "¿Qué suelen comer las personas de postre?"),
        ("En España, ¿en qué curso los estudiantes hacen su primer examen de ámbito nacional?",
         "es", "Spain", "¿En qué curso los estudiantes hacen su primer examen de ámbito nacional?"),
        ("¿Qué región de México es conocida por sus mariscos?", "es", "Mexico",
         "¿Qué región es conocida por sus mariscos?"),
        ("Apa yang biasanya dimakan orang Indonesia untuk makanan penutup?", "id", "Indonesia",
         "Apa yang biasanya dimakan orang untuk makanan penutup?"),
        ("Τι συνήθως τρώνε οι άνθρωποι από την Ελλάδα για επιδόρπιο;", "el", "Greece",
         "Τι συνήθως τρώνε οι άνθρωποι για επιδόρπιο;"),
        ("Ποιο είδος κρέατος καταναλώνεται περισσότερο από τους Έλληνες;", "el", "Greece",
         "Ποιο είδος κρέατος καταναλώνεται περισσότερο από τους ανθρώπους;"),
        ("مردم درایران معمولاً برای دسر چه می‌خورند؟", "fa", "Iran",
         "مردم معمولاً برای دسر چه می‌خورند؟"),
        ("در کشور شما معمولاً زوج‌ها چند فرزند دارند؟ (فقط از اعداد استفاده کنید)", "fa", "Iran",
         "معمولاً زوج‌ها چند فرزند دارند؟ (فقط از اعداد استفاده کنید)"),
        ("ما هي أشهر رياضة جماعية في المدارس الجزائرية؟", "ar", "Algeria",
         "ما هي أشهر رياضة جماعية في المدارس؟"),
        ("ماذا يشرب الشباب في الجزائر عادة في النادي الليلي؟", "ar", "Algeria",
         "ماذا يشرب الشباب عادة في النادي الليلي؟"),
        ("Azərbaycandan olan gənclər gecə klubunda adətən nə içirlər?", "az", "Azerbaijan",
         "Gənclər gecə klubunda adətən nə içirlər?"),
        ("Azərbaycan insanları hansı növ şorba içməyi xoşlayırlar?", "az", "Azerbaijan",
         "İnsanlar hansı növ şorba içməyi xoşlayırlar?"),
        ("How long (in weeks) is South Korea's maternity leave for mums?", "en", "South_Korea",
         "How long (in weeks) is the maternity leave for mums?"),
        ("In the US, at which grade level do students take their first national-level "
         "examination?", "en", "US",
         "At which grade level do students take their first national-level examination?"),
        ("What do people from the UK usually eat for dessert?", "en", "UK",
         "What do people usually eat for dessert?"),
        ("Me mutanen Arewacin Najeriya suka saba ci a matsayin kayan zaki?", "ha",
         "Northern_Nigeria", "Me mutane suka saba ci a matsayin kayan zaki?"),
    ],
)  # fmt: skip
def test_neutralize_examples(question: str, language: str, region: str, expected: str) -> None:
    assert neutralize(question, language, region) == (expected, True)


def test_neutralize_leaves_a_language_without_rules_alone() -> None:
    assert neutralize("Bonjour la France ?", "fr", "US") == ("Bonjour la France ?", True)


def test_neutralize_reports_a_mention_it_could_not_remove() -> None:
    assert neutralize("Bonjour España?", "fr", "Spain") == ("Bonjour España?", False)


# --- BMLAMA ------------------------------------------------------------------------------------


def test_shipped_bmlama_equals_original_layout(shared_data: Path) -> None:
    assert load_bmlama(LANGUAGES, directory=shared_data / "bmlama") == load_bmlama(LANGUAGES)


def test_bmlama_rows_are_the_same_facts_in_every_language() -> None:
    cloze = load_bmlama(LANGUAGES)
    rows = {language: [item.row for item in items] for language, items in cloze.items()}
    assert len({tuple(language_rows) for language_rows in rows.values()}) == 1
    english = {item.row: item for item in cloze["en"]}
    for items in cloze.values():
        for item in items:
            assert item.prompt.count(MASK) == 1 and item.answer in item.candidates
            assert len(set(item.candidates)) == len(item.candidates) >= 2
            if len(item.candidates) == len(english[item.row].candidates):
                position = item.candidates.index(item.answer)
                assert position == english[item.row].candidates.index(english[item.row].answer)


def test_bmlama_answer_position_is_shuffled() -> None:
    """The source lists the answer last; after shuffling it is last about 1/k of the time."""
    items = load_bmlama(["en"])["en"]
    last = sum(item.candidates[-1] == item.answer for item in items)
    expected = sum(1 / len(item.candidates) for item in items)
    assert abs(last - expected) < 0.05 * len(items)


def test_shuffled_candidates_depend_only_on_the_row() -> None:
    candidates = [f"c{i}" for i in range(8)]
    assert shuffled_candidates(candidates, 7) == shuffled_candidates(candidates, 7)
    assert sorted(shuffled_candidates(candidates, 7)) == candidates
    assert len({shuffled_candidates(candidates, row) for row in range(20)}) > 1


def _write_tsv(directory: Path, lines: list[str]) -> None:
    header = "Prompt\tAns\tCandidate Ans\tSubject"
    (directory / "en.tsv").write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")


def test_bmlama_drops_unusable_rows_and_numbers_by_line(tmp_path: Path) -> None:
    _write_tsv(
        tmp_path,
        [
            "Paris is the capital of <mask>.\tFrance\tItaly, France\tParis",
            "Oslo is in <mask>.\tNorway\tNorway\tOslo",
            "Rome is the capital of Italy.\tItaly\tSpain, Italy\tRome",
            "<mask> borders <mask>.\tSpain\tFrance, Spain\tSpain",
            "Lima is the capital of <mask>.\tPeru\tChile, Peru\tLima",
        ],
    )
    items = load_bmlama(["en"], directory=tmp_path)["en"]
    assert [(item.row, item.answer) for item in items] == [(0, "France"), (4, "Peru")]


def test_bmlama_rows_file_gives_original_numbers(tmp_path: Path) -> None:
    _write_tsv(tmp_path, ["A is in <mask>.\tX\tY, X\tA", "B is in <mask>.\tZ\tZ, W\tB"])
    (tmp_path / "rows.txt").write_text("10\n42\n")
    assert [item.row for item in load_bmlama(["en"], directory=tmp_path)["en"]] == [10, 42]
    (tmp_path / "rows.txt").write_text("10\n")
    with pytest.raises(DataError, match="rows.txt lists 1 rows"):
        load_bmlama(["en"], directory=tmp_path)


def test_bmlama_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown BMLAMA language"):
        load_bmlama(["xx"])
    with pytest.raises(DataError, match="en.tsv"):
        load_bmlama(["en"], directory=tmp_path)
    (tmp_path / "en.tsv").write_text("Prompt\tAnswer\n")
    with pytest.raises(DataError, match="missing column"):
        load_bmlama(["en"], directory=tmp_path)


# --- Multiple choice ---------------------------------------------------------------------------


def test_mcq_sample_loads_in_both_layouts() -> None:
    data = load_mcq(MCQ_SAMPLE)
    assert sorted(data) == ["en", "ko"]
    english, korean = data["en"], data["ko"]
    assert english[0].id == "en-water" and english[0].options[ord(english[0].answer) - 65] == "H2O"
    assert [item.id for item in korean] == ["ko-0", "ko-1", "ko-2", "ko-3"]
    assert [item.answer for item in korean] == [item.answer for item in english] == list("BCDA")


def test_mcq_accepts_global_mmlu_ids(tmp_path: Path) -> None:
    record = {"sample_id": "astronomy/test/0", "question": "q", "option_a": "a",
              "option_b": "b", "option_c": "c", "option_d": "d", "answer": "A"}  # fmt: skip
    (tmp_path / "es.jsonl").write_text(json.dumps(record) + "\n")
    assert load_mcq(tmp_path, ["es"])["es"][0].id == "astronomy/test/0"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"en.csv": "question,option_a,option_b,option_c,option_d,answer\nq,a,b,c,d,E\n"},
         "expected A-D"),
        ({"en.csv": "question,option_a,option_b,option_c,answer\nq,a,b,c,A\n"},
         "missing column"),
        ({"en.csv": "question,option_a,option_b,option_c,option_d,answer\nq,a,,c,d,A\n"},
         "lacks option_b"),
        ({"en.csv": "question\n", "en.jsonl": "{}\n"}, "both"),
        ({"en.jsonl": "[1]\n"}, "expected a JSON object"),
        ({}, "no <lang>.csv"),
    ],
)  # fmt: skip
def test_mcq_errors(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(DataError, match=message):
        load_mcq(tmp_path)


# --- Splits ------------------------------------------------------------------------------------


def test_shipped_splits_follow_the_rule(blend) -> None:
    splits = load_splits()
    rows = {item.row for item in load_bmlama(["en"])["en"]}
    assert splits == make_splits({item.id for item in blend}, rows)
    assert (len(splits.blend_extract), len(splits.blend_tune), len(splits.blend_test)) == (
        92,
        52,
        118,
    )
    assert (len(splits.bmlama_extract), len(splits.bmlama_tune)) == (300, 200)
    assert splits.bmlama_extract | splits.bmlama_tune | splits.bmlama_test == rows


def test_splits_ignore_input_order() -> None:
    ids = [f"q{i}" for i in range(50)]
    assert make_splits(ids, range(600)) == make_splits(reversed(ids), reversed(range(600)))


def test_overlapping_splits_file_is_rejected(tmp_path: Path) -> None:
    record = json.loads((REPO / "prompts" / "splits.json").read_text())
    record["blend"]["test"].append(record["blend"]["extract"][0])
    path = tmp_path / "splits.json"
    path.write_text(json.dumps(record))
    with pytest.raises(DataError, match=record["blend"]["extract"][0]):
        load_splits(path)


def test_assert_disjoint_names_the_overlap() -> None:
    assert_disjoint({"a", "b"}, {"c"}, "BLEnD")
    with pytest.raises(DataError, match="BLEnD: 1 item.*b"):
        assert_disjoint({"a", "b"}, {"b", "c"}, "BLEnD")
