"""Position-aware steering: each part of a conversation gets its own control buffer, switched
between decodes, and the answer decoded after the vector is cleared is exactly an unsteered
continuation of the steered cache."""

from __future__ import annotations

import llama_cpp
import numpy as np
import pytest

from surgsteer_cli.engine import UNSTEERED, Control, Engine, apply_control
from surgsteer_cli.prompting import Prompt, qa_prompt
from surgsteer_cli.steering import control

QUESTION = "What is the emergency phone number?"
TOKENS = 12


def steered_buffer(engine: Engine, norm: float = 60.0) -> np.ndarray:
    """A random direction of size ``norm`` at blocks 3-8: strong enough to change answers."""
    rng = np.random.default_rng(7)
    buffer = np.zeros((engine.spec.n_layer, engine.spec.n_embd), dtype=np.float32)
    for block in range(3, 9):
        direction = rng.standard_normal(engine.spec.n_embd).astype(np.float32)
        buffer[block - 1] = direction * np.float32(norm / np.linalg.norm(direction))
    return buffer


def greedy_by_hand(engine: Engine, prompt: Prompt, prompt_buffer: np.ndarray) -> str:
    """The prompt evaluated under ``prompt_buffer``, then greedy tokens decoded one by one with
    no control vector: the reference that generation must reproduce."""
    llm = engine.llm
    llm.reset()
    apply_control(llm.ctx, prompt_buffer, engine.spec)
    llm.eval(engine.tokenize(prompt))
    apply_control(llm.ctx, None, engine.spec)
    tokens = []
    for _ in range(TOKENS):
        logits = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        token = int(np.argmax(np.ctypeslib.as_array(logits, shape=(llm.n_vocab(),))))
        if token == llm.token_eos():
            break
        tokens.append(token)
        llm.eval([token])
    return llm.detokenize(tokens).decode("utf-8", errors="replace")


def generated(engine: Engine, prompt: Prompt) -> str:
    return "".join(engine.generate(prompt, max_tokens=TOKENS))


def test_tokens_after_the_vector_is_cleared_continue_the_steered_cache(engine: Engine) -> None:
    prompt = qa_prompt(QUESTION)  # a base model: the whole prompt is the question
    buffer = steered_buffer(engine)
    reference = greedy_by_hand(engine, prompt, buffer)

    engine.set_control(Control(question=buffer, prefix=buffer, answer=None))
    prompt_only = generated(engine, prompt)
    engine.set_control(buffer)
    everywhere = generated(engine, prompt)
    engine.set_control(None)
    unsteered = generated(engine, prompt)

    assert prompt_only == reference
    assert prompt_only != unsteered  # the steered cache matters...
    assert prompt_only != everywhere  # ...and the answer really ran without the vector


def test_a_uniform_control_after_a_mixed_one_starts_from_a_clean_cache(engine: Engine) -> None:
    prompt = qa_prompt(QUESTION)
    engine.set_control(None)
    before = generated(engine, prompt)
    buffer = steered_buffer(engine)
    engine.set_control(Control(question=buffer, prefix=buffer, answer=None))
    generated(engine, prompt)
    engine.set_control(UNSTEERED)
    assert generated(engine, prompt) == before


def test_segments_split_a_chat_prompt_at_the_assistant_prefix(engine: Engine) -> None:
    template = (
        "{% for m in messages %}<start_of_turn>{{ m.role }}\n{{ m.content }}<end_of_turn>\n"
        "{% endfor %}<start_of_turn>model\n"
    )
    prompt = qa_prompt(QUESTION, chat_template=template)
    buffer = steered_buffer(engine)
    engine.set_control(Control(question=buffer, prefix=None, answer=None))
    (question, steered), (prefix, unsteered) = engine.segments(prompt)
    assert question + prefix == engine.tokenize(prompt)
    assert steered is engine.control.question and unsteered is None
    last_piece = Prompt((prompt.pieces[-1],))
    assert str(last_piece).startswith("<end_of_turn>")
    assert prefix == engine.tokenize(last_piece, add_bos=False)


@pytest.mark.parametrize(
    ("placement", "steered_parts"),
    [("all", 3), ("prompt", 2), ("question", 1)],
)
def test_a_placement_steers_exactly_its_parts(
    engine: Engine, make_vector, placement: str, steered_parts: int
) -> None:
    vector = make_vector("loc", "ko", [4, 5])
    plan = control(engine.spec, [(vector, 1.0, [4, 5])], {"loc": placement})
    assert sum(buffer is not None for buffer in plan.parts) == steered_parts
    assert plan.uniform == (placement == "all")
    assert plan.question is not None
