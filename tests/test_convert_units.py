"""numpy-level parts of surgsteer_convert/: aggregators, contrasts on the shipped data, bands,
vectors."""

from __future__ import annotations

import numpy as np
import pytest

from surgsteer_cli.datasets.splits import load_splits
from surgsteer_cli.errors import DataError, SurgsteerError
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_convert.activations import States
from surgsteer_convert.aggregate import mean_difference, pca_difference
from surgsteer_convert.contrasts import (
    LANGUAGES,
    Contrast,
    ExtractionData,
    check_languages,
    en_contrast,
    filled,
    load_extraction_data,
    loc_contrast,
)
from surgsteer_convert.directions import (
    BlockDirections,
    Measurement,
    block_directions,
    orthogonalize,
    relative_to_others,
)
from surgsteer_convert.extract import build_vectors, parse_band
from surgsteer_convert.layers import (
    band_around_peak,
    choose_bands,
    culture_probe_accuracy,
    en_candidates,
)

RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def data() -> ExtractionData:
    return load_extraction_data(["ko", "es", "el"], max_items=40)


def test_mean_difference_is_difference_of_means() -> None:
    positives, negatives = RNG.normal(size=(10, 4)), RNG.normal(size=(10, 4))
    np.testing.assert_allclose(
        mean_difference(positives, negatives), positives.mean(0) - negatives.mean(0)
    )


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_pca_difference_finds_the_shift_axis_and_points_to_positives(sign: float) -> None:
    axis = np.eye(8)[3] * sign
    negatives = RNG.normal(size=(50, 8))
    positives = (
        negatives + np.outer(RNG.uniform(2, 4, size=50), axis) + 0.05 * RNG.normal(size=(50, 8))
    )
    direction = pca_difference(positives, negatives)
    unit = direction / np.linalg.norm(direction)
    assert unit @ axis > 0.99
    assert ((positives - negatives) @ unit).mean() > 0
    assert np.linalg.norm(direction) == pytest.approx(
        ((positives - negatives) @ unit).mean(), rel=1e-5
    )


def test_orthogonalize_removes_only_the_shared_component() -> None:
    vectors, against = RNG.normal(size=(5, 6)), RNG.normal(size=(5, 6))
    result = orthogonalize(vectors, against)
    np.testing.assert_allclose((result * against).sum(axis=1), 0, atol=1e-9)
    np.testing.assert_allclose(orthogonalize(result, against), result, atol=1e-9)


def test_contrast_method_cancels_what_every_country_shares() -> None:
    """A shift common to every language's country-naming direction (bring up *a* country)
    drops out; each language keeps its own part, minus the mean of the others' own parts."""
    common = RNG.normal(size=(3, 6))
    own = {lang: RNG.normal(size=(3, 6)) for lang in ("ko", "zh", "es")}
    contrast = Contrast(("q",), ("n",), "named vs removed")
    loc = {lang: BlockDirections(common + part, np.ones(3), contrast) for lang, part in own.items()}
    relative = relative_to_others(loc)
    expected = own["ko"] - (own["zh"] + own["es"]) / 2
    np.testing.assert_allclose(relative["ko"].vectors, expected, atol=1e-6)
    assert "minus the mean of the same shift for zh, es" in relative["ko"].contrast.description
    assert relative["ko"].typical_norm is loc["ko"].typical_norm
    with pytest.raises(SurgsteerError, match="at least two languages"):
        relative_to_others({"ko": loc["ko"]})


def test_contrasts_use_extraction_items_only(data: ExtractionData) -> None:
    splits = load_splits()
    for items in data.cloze.values():
        assert {item.row for item in items} <= splits.bmlama_extract
    for items in data.blend.values():
        assert {item.id for item in items} <= splits.blend_extract
    assert [item.row for item in data.cloze["en"]] == [item.row for item in data.cloze["ko"]]
    assert [item.id for item in data.blend["ko"]] == [item.id for item in data.blend["el"]]


def test_en_contrast_pairs_english_with_the_same_fact_in_the_language(data: ExtractionData) -> None:
    contrast = en_contrast(data, "ko")
    assert len(contrast.positives) == len(data.cloze["ko"]) == 40
    assert contrast.positives[0] == filled(data.cloze["en"][0])
    assert contrast.negatives[0] == filled(data.cloze["ko"][0])
    assert "<mask>" not in contrast.positives[0] + contrast.negatives[0]
    assert data.cloze["ko"][0].answer in contrast.negatives[0]


def test_loc_contrasts(data: ExtractionData) -> None:
    language = loc_contrast(data, "es", "language")
    item = data.blend["es"][0]
    assert (language.positives[0], language.negatives[0]) == (item.question, item.question_en)
    country = loc_contrast(data, "es", "country")
    pairs = set(zip(country.positives, country.negatives, strict=True))
    assert (item.question_en, item.neutral_en) in pairs
    assert all(positive != negative for positive, negative in pairs)
    assert all((i.question, i.neutral) in pairs for i in data.blend["es"] if i.neutralized)
    assert "Spain" in country.description
    assert loc_contrast(data, "es", "contrast") == country  # the subtraction comes after


def test_answers_contrast_adds_the_annotators_answer_to_a_question_naming_no_country(
    data: ExtractionData,
) -> None:
    answers = loc_contrast(data, "es", "answers")
    pairs = set(zip(answers.positives, answers.negatives, strict=True))
    for item in data.blend["es"]:
        assert (f"{item.neutral_en}\n{item.answers_en[0]}", item.neutral_en) in pairs
        assert (f"{item.neutral}\n{item.answers[0]}", item.neutral) in pairs
    assert not any("Spain" in positive for positive in answers.positives)
    assert "Spain annotators' top answer" in answers.description


def test_unknown_language_and_empty_contrast_are_data_errors() -> None:
    with pytest.raises(DataError, match="unknown language xx"):
        check_languages(["ko", "xx"])
    with pytest.raises(DataError, match="no language"):
        check_languages([])
    with pytest.raises(DataError, match="empty contrast set"):
        Contrast((), (), "nothing")
    assert check_languages(["ko", "ko", "zh"]) == ["ko", "zh"]
    assert set(LANGUAGES) == {"ko", "zh", "es", "id", "el", "fa", "ar", "az"}


def test_parse_band() -> None:
    assert parse_band("3-7", 18) == (3, 7)
    assert parse_band("5", 18) == (5, 5)
    for bad in ("0-4", "5-18", "7-3", "a-b", ""):
        with pytest.raises(SurgsteerError):
            parse_band(bad, 18)


def test_band_rule() -> None:
    values = np.array([0.0, 0.1, 0.5, 0.95, 1.0, 0.92, 0.3, 0.2, 0.6, 0.58, 0.1])
    assert band_around_peak(values, 1, 9) == (3, 5)
    culture = np.array([0, 0, 0, 0.9, 0.9, 0.2, 0.3, 0.5, 0.8, 0.79, 0.1])
    en, loc = choose_bands(values, culture)
    assert en == (3, 5)
    assert loc == (8, 9)  # the culture peak at 3-4 lies inside the EN band: LOC comes after it


def test_every_peak_is_a_candidate_and_the_middle_one_is_preferred() -> None:
    # Two peaks, as on Qwen2.5-Coder-1.5B: a lower one in the middle, a higher one deep.
    values = np.zeros(28)
    values[6:10] = [0.15, 0.16, 0.17, 0.16]
    values[21:25] = [0.18, 0.19, 0.2, 0.19]
    values[12] = 0.05  # a small bump far below the peaks is no candidate
    assert en_candidates(values) == [(21, 24), (6, 9)]
    culture = np.linspace(0.2, 1.0, 28)
    en, loc = choose_bands(values, culture)
    assert en == (6, 9)  # centred in the middle half of the depth
    assert loc[0] > 9
    shallow = values.copy()
    shallow[6:10] = 0.0
    assert choose_bands(shallow, culture)[0] == (21, 24)  # only a deep peak: it is taken


def _every_prompt(data: ExtractionData) -> list[str]:
    texts = [filled(item) for items in data.cloze.values() for item in items]
    for items in data.blend.values():
        for item in items:
            texts += [item.question, item.question_en, item.neutral, item.neutral_en]
    return list(dict.fromkeys(texts))


def _states(prompts: list[str], vectors: np.ndarray, norms: np.ndarray) -> States:
    return States({p: i for i, p in enumerate(prompts)}, {"last": vectors, "mean": vectors}, norms)


def test_culture_probe_detects_a_shared_country_signal(data: ExtractionData) -> None:
    """Synthetic states: at block 1 the country-free question in L carries L's country offset."""
    languages = data.languages
    prompts = _every_prompt(data)
    dims = 16
    states = RNG.normal(size=(len(prompts), 2, dims))
    index = {p: i for i, p in enumerate(prompts)}
    country = {lang: RNG.normal(size=dims) * 3 for lang in languages}
    for lang in languages:
        for item in data.blend[lang]:
            states[index[item.question_en], :, :] += country[lang]
            states[index[item.neutral], 1, :] += country[lang]
    bank = _states(prompts, states, np.ones((len(prompts), 2)))
    measurement = Measurement(data, bank, "mean", "mean", "language", {}, {})
    accuracy = culture_probe_accuracy(measurement)
    assert accuracy[1] > 0.9
    assert accuracy[0] < 0.7


def test_vectors_are_unit_directions_times_typical_norm(data: ExtractionData) -> None:
    spec = ModelSpec("toy", 4, 8, "f" * 16)
    prompts = _every_prompt(data)
    states = RNG.normal(size=(len(prompts), 4, 8)).astype(np.float32)
    norms = RNG.uniform(1, 100, size=(len(prompts), 4)).astype(np.float32)
    bank = _states(prompts, states, norms)
    en = {
        lang: block_directions(bank, en_contrast(data, lang), "mean", mean_difference)
        for lang in data.languages
    }
    loc = {
        lang: block_directions(bank, loc_contrast(data, lang, "country"), "mean", mean_difference)
        for lang in data.languages
    }
    measurement = Measurement(data, bank, "mean", "mean", "country", en, loc)
    vectors = build_vectors(measurement, spec, (1, 2), (3, 3), "test")
    assert [(v.language, v.role) for v in vectors][:2] == [("ko", "en"), ("ko", "loc")]
    ko_en, ko_loc = vectors[0], vectors[1]
    assert ko_en.layers == [1, 2, 3] and ko_en.band == (1, 2) and ko_loc.band == (3, 3)
    for n in ko_en.layers:
        assert np.linalg.norm(ko_en.directions[n]) == pytest.approx(
            en["ko"].typical_norm[n], rel=1e-5
        )
        raw = en["ko"].vectors[n]
        assert ko_en.directions[n] @ raw / np.linalg.norm(raw) == pytest.approx(
            en["ko"].typical_norm[n], rel=1e-5
        )
        assert abs(ko_loc.directions[n] @ raw) < 1e-3 * np.linalg.norm(
            ko_loc.directions[n]
        ) * np.linalg.norm(raw)
    expected_scale = en["ko"].relative_norm[1:3].mean() / 2
    assert ko_en.default_scale == pytest.approx(expected_scale, rel=1e-5)
    assert "orthogonalized" in ko_loc.method and "orthogonalized" not in ko_en.method

    tuned = build_vectors(measurement, spec, (1, 2), (3, 3), "test", {"loc": 0.07})
    assert tuned[0].default_scale == pytest.approx(expected_scale, rel=1e-5)
    assert tuned[1].default_scale == 0.07 and "tuned" in tuned[1].method
    assert [v.directions[1].tolist() for v in tuned] == [v.directions[1].tolist() for v in vectors]
