"""Profiles: the control buffer they build, where they are found, and which one a question gets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from surgsteer_cli import vector_file
from surgsteer_cli.errors import ModelMismatchError, SurgsteerError, VectorFileError
from surgsteer_cli.paths import user_vectors_dir
from surgsteer_cli.profiles import Profile, discover
from surgsteer_cli.session import Session, SteeringRequest
from surgsteer_cli.steering import control_buffer, parts, profile_buffer

KOREAN = "대한민국의 긴급 전화번호는 무엇인가요?"
SPANISH = "¿Cuál es la comida más popular en México?"
ENGLISH = "What is the most popular food in the United States?"
FRENCH = "Quel est le plat le plus populaire en France ?"


def test_buffer_row_r_holds_the_direction_of_block_r_plus_1(small_engine, make_vector) -> None:
    spec = small_engine.spec
    en = make_vector("en", "ko", [5, 6], seed=1)
    loc = make_vector("loc", "ko", [6, 12], seed=2)
    buffer = control_buffer(spec, [(en, 2.0, [5, 6]), (loc, 0.5, [6, 12])])
    assert buffer.shape == (spec.n_layer, spec.n_embd)
    expected = np.zeros_like(buffer)
    expected[4] = np.float32(2.0) * en.directions[5]
    expected[5] = np.float32(2.0) * en.directions[6] + np.float32(0.5) * loc.directions[6]
    expected[11] = np.float32(0.5) * loc.directions[12]
    assert np.array_equal(buffer, expected)


def test_profile_defaults_to_file_scales_and_bands(small_engine, make_vector) -> None:
    spec = small_engine.spec
    en = make_vector("en", "ko", [4, 5, 6, 7], scale=3.0, band=(5, 6), seed=1)
    loc = make_vector("loc", "ko", [12, 13], scale=0.5, seed=2)
    profile = Profile("ko", en=en, loc=loc)
    explicit = control_buffer(spec, [(en, 3.0, [5, 6]), (loc, 0.5, [12, 13])])
    assert np.array_equal(profile_buffer(profile, spec), explicit)
    assert [scale for _, scale, _ in parts(profile, spec)] == [3.0, 0.5]
    assert [scale for _, scale, _ in parts(profile, spec, loc_scale=2.0)] == [3.0, 2.0]
    en_only = control_buffer(spec, [(en, 3.0, [5, 6])])
    assert np.array_equal(profile_buffer(profile, spec, loc_scale=0.0), en_only)


@pytest.mark.parametrize(
    ("field", "value"),
    [("architecture", "llama"), ("n_layer", 32), ("n_embd", 4096), ("fingerprint", "0" * 16)],
)
def test_vectors_for_another_model_are_refused_naming_the_field(
    small_engine, make_vector, tmp_path, field, value
) -> None:
    spec = dataclasses.replace(small_engine.spec, **{field: value})
    vector = make_vector("loc", "ko", [3], spec=spec)
    vector_file.write(vector, tmp_path / "ko.loc.gguf")
    with pytest.raises(ModelMismatchError, match=f"{field} is {value!r} in the vector"):
        discover(small_engine.spec, [tmp_path])


def test_user_dir_skips_broken_files_and_other_models(small_engine, make_vector, capsys) -> None:
    directory = user_vectors_dir()
    ours = vector_file.write(make_vector("loc", "ha", [12]), directory / "ha.loc.gguf")
    other = dataclasses.replace(small_engine.spec, fingerprint="f" * 16)
    vector_file.write(make_vector("loc", "am", [12], spec=other), directory / "am.loc.gguf")
    (directory / "broken.gguf").write_bytes(b"GGUF\x03\x00\x00\x00truncated")
    profiles = discover(small_engine.spec)
    assert profiles["ha"].sources == [ours]
    assert "am" not in profiles
    assert "broken.gguf" in capsys.readouterr().err


def test_explicit_dir_with_a_broken_file_is_an_error(small_engine, tmp_path) -> None:
    (tmp_path / "broken.gguf").write_bytes(b"not a gguf file")
    with pytest.raises(VectorFileError, match="broken.gguf"):
        discover(small_engine.spec, [tmp_path])


@pytest.fixture
def session(small_engine, make_vector) -> Session:
    """Profiles for Korean (EN + LOC) and Persian (LOC only); none for Spanish."""
    profiles = {
        "ko": Profile(
            "ko",
            en=make_vector("en", "ko", [5, 6, 7], scale=4.0, band=(5, 6), seed=1),
            loc=make_vector("loc", "ko", [12, 13], scale=2.0, seed=2),
        ),
        "fa": Profile("fa", loc=make_vector("loc", "fa", [14], scale=1.5, seed=3)),
    }
    return Session(small_engine, profiles)


def test_detected_language_selects_its_profile(session: Session) -> None:
    steering = session.steering(KOREAN, SteeringRequest(localize="vector"))
    assert steering.language == "ko"
    assert steering.confidence > 0.9
    assert steering.profile == "ko"
    assert steering.scales == {"en": 4.0, "loc": 2.0}
    assert steering.layers == {"en": [5, 6], "loc": [12, 13]}
    expected = profile_buffer(session.profiles["ko"], session.engine.spec)
    assert steering.control.uniform
    assert np.array_equal(steering.control.answer, expected)
    assert steering.system is None


def test_prompt_localization_names_the_country_and_leaves_the_loc_vector_out(
    session: Session,
) -> None:
    steering = session.steering(KOREAN, SteeringRequest(localize="prompt"))
    assert steering.system == "The user is in South Korea."
    assert steering.scales == {"en": 4.0}
    en_only = profile_buffer(session.profiles["ko"], session.engine.spec, loc_scale=0.0)
    assert np.array_equal(steering.control.answer, en_only)
    both = session.steering(KOREAN, SteeringRequest(localize="both"))
    assert both.system == steering.system
    assert both.scales == {"en": 4.0, "loc": 2.0}


def test_a_prompt_placement_leaves_the_answer_to_the_other_roles(session: Session) -> None:
    request = SteeringRequest(localize="vector", loc_at="prompt")
    control = session.steering(KOREAN, request).control
    spec = session.engine.spec
    assert control.question is control.prefix
    assert np.array_equal(control.question, profile_buffer(session.profiles["ko"], spec))
    assert np.array_equal(
        control.answer, profile_buffer(session.profiles["ko"], spec, loc_scale=0.0)
    )
    question_only = session.steering(KOREAN, SteeringRequest(localize="vector", loc_at="question"))
    assert np.array_equal(question_only.control.prefix, control.answer)


def test_lang_option_overrides_the_language_of_the_question(session: Session) -> None:
    request = SteeringRequest(language="KO", loc_scale=0.5, localize="vector")
    steering = session.steering("emergency number?", request)
    assert (steering.language, steering.confidence, steering.profile) == ("ko", None, "ko")
    assert steering.scales == {"en": 4.0, "loc": 0.5}


@pytest.mark.parametrize(
    ("question", "options", "language", "note"),
    [
        (ENGLISH, {}, "en", "English needs no steering"),
        (FRENCH, {}, None, "language unknown or unsure: no steering"),
        (SPANISH, {}, "es", "no es profile for this model: unsteered"),
        (KOREAN, {"steer": False}, "ko", "steering is off"),
    ],
)
def test_unsteered_cases_say_why(session: Session, question, options, language, note) -> None:
    steering = session.steering(question, SteeringRequest(**options))
    assert steering.language == language
    assert (steering.profile, steering.system, steering.scales) == (None, None, {})
    assert steering.control.uniform and steering.control.answer is None
    assert steering.note == note


def test_a_profile_with_one_role_steers_with_that_role(session: Session) -> None:
    steering = session.steering("x", SteeringRequest(language="fa", localize="vector"))
    assert steering.scales == {"loc": 1.5}
    assert steering.layers == {"loc": [14]}


def test_unknown_lang_option_lists_the_valid_codes(session: Session) -> None:
    with pytest.raises(SurgsteerError, match=r"unknown language 'x1'; valid: am, ar, .*ko"):
        session.steering(KOREAN, SteeringRequest(language="x1"))
