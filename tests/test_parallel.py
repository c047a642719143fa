"""Prompts decoded side by side (``parallel``) give what llama.cpp gives them one at a time:
the same greedy answers, unsteered and steered, and the same token log-probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from surgsteer_cli.engine import Engine, log_softmax
from surgsteer_cli.parallel import MAX_LOGITS, greedy_answers, token_logprobs
from surgsteer_cli.prompting import qa_prompt, stop_sequences
from surgsteer_cli.steering import control_buffer

QUESTIONS = [
    "What number do you call for an ambulance?",
    "서울은 어느 나라의 수도입니까?",
    "What is the capital of France?",
]
ANSWER_TOKENS = 8  # as short as the held-out check's answers
STOP = [".", "\n"]  # cut inside answers, as a base model's stop sequences cut them
TEXTS = ["The capital of France is Paris.", "서울은 대한민국의 수도이다.", "Hi"]


@pytest.fixture
def steering(engine, make_vector) -> np.ndarray:
    vector = make_vector("loc", "ko", [8, 9], norm=30.0)
    return control_buffer(engine.spec, [(vector, 1.0, [8, 9])])


def test_side_by_side_answers_are_the_answers_one_at_a_time(engine, steering) -> None:
    prompts = [qa_prompt(q, chat_template=engine.chat_template) for q in QUESTIONS]
    stop = [*stop_sequences(engine.chat_template), *STOP]
    for control in (None, steering):
        engine.set_control(control)
        alone = []
        for prompt in prompts:
            engine.llm.reset()
            alone.append("".join(engine.generate(prompt, max_tokens=ANSWER_TOKENS, stop=stop)))
        assert greedy_answers(engine, prompts, ANSWER_TOKENS, stop) == alone
        assert all(alone)
    engine.set_control(None)
    unsteered = greedy_answers(engine, prompts, ANSWER_TOKENS, stop)
    engine.set_control(steering)
    steered = greedy_answers(engine, prompts, ANSWER_TOKENS, stop)
    assert steered != unsteered


@pytest.mark.parametrize("max_logits", [MAX_LOGITS, 3])
def test_side_by_side_logprobs_are_the_logprobs_one_at_a_time(
    model_path, make_vector, max_logits: int
) -> None:
    """Against each text evaluated alone in one batch, every position's logits kept; also when
    the texts must go in several contexts (3 logits at once: one text each, longer ones too)."""
    engine = Engine(model_path, n_ctx=128, logits_all=True)
    vector = make_vector("loc", "ko", [8, 9], norm=30.0)
    for control in (None, control_buffer(engine.spec, [(vector, 1.0, [8, 9])])):
        engine.set_control(control)
        found = token_logprobs(engine, TEXTS, max_logits)
        for text, logprobs in zip(TEXTS, found, strict=True):
            tokens = engine.tokenize(text)
            engine.llm.reset()
            engine.llm.eval(tokens)
            pairs = zip(engine.llm.scores[: len(tokens) - 1], tokens[1:], strict=True)
            expected = [log_softmax(row)[token] for row, token in pairs]
            np.testing.assert_allclose(logprobs, expected, atol=1e-4)
    engine.llm.close()


def test_nothing_to_decode() -> None:
    assert greedy_answers(None, [], 4) == [] and token_logprobs(None, []) == []
