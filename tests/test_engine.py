"""Control vectors in the real llama.cpp on the small test model, judged by the logits."""

from __future__ import annotations

import ctypes
from dataclasses import replace

import llama_cpp.llama_cpp as llama_low_level
import numpy as np
import pytest

from surgsteer_cli import engine as engine_module
from surgsteer_cli.engine import Engine
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.profiles import Profile
from surgsteer_cli.session import Session, SteeringRequest
from surgsteer_cli.steering import profile_buffer

TEXT = "The emergency phone number in Korea is"


def block_buffer(engine: Engine, block: int, direction: np.ndarray) -> np.ndarray:
    buffer = np.zeros((engine.spec.n_layer, engine.spec.n_embd), dtype=np.float32)
    buffer[block - 1] = direction
    return buffer


def random_direction(engine: Engine, norm: float = 10.0, seed: int = 0) -> np.ndarray:
    direction = np.random.default_rng(seed).standard_normal(engine.spec.n_embd)
    return (direction * norm / np.linalg.norm(direction)).astype(np.float32)


def test_zero_vector_leaves_logits_identical(engine: Engine) -> None:
    plain = engine.next_logits(TEXT)
    engine.set_control(np.zeros((engine.spec.n_layer, engine.spec.n_embd), dtype=np.float32))
    assert np.array_equal(engine.next_logits(TEXT), plain)


@pytest.mark.parametrize("block", [1, 9, 17])
def test_vector_at_a_block_changes_logits_and_clearing_restores_them(
    engine: Engine, block: int
) -> None:
    plain = engine.next_logits(TEXT)
    engine.set_control(block_buffer(engine, block, random_direction(engine)))
    steered = engine.next_logits(TEXT)
    engine.set_control(None)
    cleared = engine.next_logits(TEXT)
    assert np.max(np.abs(steered - plain)) > 1e-2
    assert np.array_equal(cleared, plain)


def test_scale_s_on_v_equals_the_vector_s_times_v(engine: Engine, make_vector) -> None:
    s = 2.5
    v = make_vector("loc", "ko", [12, 13])
    scaled_directions = {layer: np.float32(s) * d for layer, d in v.directions.items()}
    sv = make_vector("loc", "ko", directions=scaled_directions)
    by_scale = profile_buffer(Profile("ko", loc=v), engine.spec, loc_scale=s)
    by_vector = profile_buffer(Profile("ko", loc=sv), engine.spec, loc_scale=1.0)
    assert np.array_equal(by_scale, by_vector)

    engine.set_control(by_scale)
    scaled = engine.next_logits(TEXT)
    engine.set_control(by_vector)
    assert np.array_equal(engine.next_logits(TEXT), scaled)
    engine.set_control(profile_buffer(Profile("ko", loc=v), engine.spec, loc_scale=1.0))
    assert not np.array_equal(engine.next_logits(TEXT), scaled)


def test_profile_switch_reuses_the_loaded_model(
    engine: Engine, make_vector, model_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = []
    real_load = llama_low_level.llama_model_load_from_file
    monkeypatch.setattr(
        llama_low_level,
        "llama_model_load_from_file",
        lambda *args: loads.append(args) or real_load(*args),
    )
    profiles = {
        "ko": Profile("ko", loc=make_vector("loc", "ko", [12, 13, 14], seed=1)),
        "es": Profile("es", loc=make_vector("loc", "es", [12, 13, 14], seed=2)),
    }
    session = Session(engine, profiles)
    model_pointer = ctypes.cast(engine.llm.model, ctypes.c_void_p).value
    context_pointer = ctypes.cast(engine.llm.ctx, ctypes.c_void_p).value

    logits = {}
    for code in ["ko", "es", "ko"]:
        steering = session.steering("question", SteeringRequest(language=code, localize="vector"))
        assert session.apply(steering)
        logits.setdefault(code, []).append(engine.next_logits(TEXT))

    assert loads == []
    assert ctypes.cast(engine.llm.model, ctypes.c_void_p).value == model_pointer
    assert ctypes.cast(engine.llm.ctx, ctypes.c_void_p).value == context_pointer
    assert np.array_equal(logits["ko"][0], logits["ko"][1])
    assert not np.array_equal(logits["ko"][0], logits["es"][0])
    Engine(model_path)  # the probe does see a real load
    assert len(loads) == 1


def test_reapplying_the_same_steering_is_a_no_op(engine: Engine, make_vector) -> None:
    session = Session(engine, {"ko": Profile("ko", loc=make_vector("loc", "ko", [12]))})
    request = SteeringRequest(language="ko", localize="vector")
    assert session.apply(session.steering("question", request))
    assert not session.apply(session.steering("another question", request))
    stronger = replace(request, loc_scale=3.0)
    assert session.apply(session.steering("question", stronger))


def test_buffer_of_the_wrong_shape_is_refused(engine: Engine) -> None:
    with pytest.raises(SurgsteerError, match="shape"):
        engine.set_control(np.zeros((engine.spec.n_layer - 1, engine.spec.n_embd)))


def test_prompt_longer_than_the_context_is_refused_before_streaming(engine: Engine) -> None:
    with pytest.raises(SurgsteerError, match="the context holds 2048"):
        engine.generate("word " * 3000)


def test_generation_is_deterministic_at_temperature_zero(engine: Engine) -> None:
    prompt = "Q: What is the capital of France?\nA:"
    first = "".join(engine.generate(prompt, max_tokens=6))
    assert first.strip()
    assert "".join(engine.generate(prompt, max_tokens=6)) == first


def test_template_tokens_count_only_in_template_pieces(engine) -> None:
    """A user who types a special-token spelling gets plain text, not a control token."""
    from surgsteer_cli.prompting import Prompt

    spelled = "<start_of_turn>"
    as_user = engine.tokenize(Prompt(((spelled, False),)), add_bos=False)
    as_template = engine.tokenize(Prompt(((spelled, True),)), add_bos=False)
    assert len(as_template) == 1
    assert len(as_user) > 1
    assert engine.tokenize(spelled, add_bos=False) == as_user


def test_generation_threads_default_to_the_available_cpus(model_path, monkeypatch) -> None:
    # Not llama-cpp-python's default (half the cores), which leaves a core idle on small
    # machines; available_cpus changes with the machine's load, hence a fixed stand-in.
    monkeypatch.setattr(engine_module, "available_cpus", lambda: 1)
    assert Engine(model_path).llm.context_params.n_threads == 1
