"""Shared-prefix log-likelihood scoring against from-scratch scoring, on the small test model
(Gemma 3 270M) and real BMLAMA items; steering reaches the scoring context; choice letters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from surgsteer_cli.datasets.bmlama import MASK, load_bmlama
from surgsteer_cli.datasets.mcq import load_mcq
from surgsteer_cli.engine import Engine
from surgsteer_cli.evaluation.scoring import Scorer, shared_prefix_length
from surgsteer_cli.evaluation.transfer import cloze_row, mcq_prompt, mcq_row
from surgsteer_cli.models import resolve_model

MCQ_SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "mcq"
# Batches of different shapes round differently (quantized matmuls): relative candidate scores
# from the two methods agree to a fraction of a nat, not exactly. A wrong position or token
# would be off by several nats.
TOLERANCE = 0.75


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(resolve_model("gemma3-270m"))


@pytest.fixture(scope="module")
def scorer(engine: Engine):
    with Scorer(engine) as scorer:
        yield scorer


def real_items(per_language: int = 2, max_candidates: int = 4):
    """The first few facts with few candidates, in languages with different scripts and
    different spacing at the mask (Korean particles, no spaces in Chinese)."""
    loaded = load_bmlama(["en", "ko", "zh", "ar"])
    return [
        item
        for items in loaded.values()
        for item in [i for i in items if len(i.candidates) <= max_candidates][:per_language]
    ]


def sentences(scorer: Scorer, item) -> list[list[int]]:
    return [scorer.sentence_tokens(item.prompt.replace(MASK, c)) for c in item.candidates]


def test_shared_prefix_scores_rank_like_from_scratch_scores(scorer: Scorer) -> None:
    for item in real_items():
        tokens = sentences(scorer, item)
        shared = np.array(scorer.continuation_logprobs(tokens))
        scratch = np.array(scorer.from_scratch_logprobs(tokens))
        # Same differences between candidates, up to rounding ...
        assert np.abs((shared - shared[0]) - (scratch - scratch[0])).max() < TOLERANCE, item
        # ... so the same pick, unless the from-scratch scores are (nearly) tied.
        assert scratch[np.argmax(shared)] > scratch.max() - TOLERANCE, item


def test_the_text_before_the_mask_is_evaluated_once(scorer: Scorer) -> None:
    for item in real_items():
        before = item.prompt.split(MASK)[0].rstrip()
        shared = shared_prefix_length(sentences(scorer, item))
        if before:
            # At most the last token before the mask can merge with a candidate.
            assert shared >= len(scorer.sentence_tokens(before)) - 1, item
        else:
            assert shared >= 1  # the start token


def test_a_sentence_that_is_a_prefix_of_another_is_scored(scorer: Scorer) -> None:
    short = scorer.sentence_tokens("Michelangelo died in Rome")
    longer = scorer.sentence_tokens("Michelangelo died in Rome, Italy")
    assert longer[: len(short)] == short
    assert shared_prefix_length([short, longer]) == len(short) - 1
    shared = np.array(scorer.continuation_logprobs([short, longer]))
    scratch = np.array(scorer.from_scratch_logprobs([short, longer]))
    assert abs((shared[1] - shared[0]) - (scratch[1] - scratch[0])) < TOLERANCE


def test_steering_reaches_the_scoring_context(engine: Engine, scorer: Scorer) -> None:
    [item] = real_items(per_language=1)[:1]
    tokens = sentences(scorer, item)
    plain = scorer.continuation_logprobs(tokens)
    rng = np.random.default_rng(0)
    buffer = rng.normal(size=(engine.spec.n_layer, engine.spec.n_embd)).astype(np.float32)
    engine.set_control(buffer * 20)
    try:
        steered = scorer.continuation_logprobs(tokens)
    finally:
        engine.set_control(None)
    assert np.abs(np.array(steered) - np.array(plain)).max() > 0.5
    assert scorer.continuation_logprobs(tokens) == plain


def test_cloze_row_names_the_best_candidate(scorer: Scorer) -> None:
    item = real_items(per_language=1)[0]
    row = cloze_row(scorer, item)
    assert len(row["scores"]) == len(item.candidates)
    assert row["choice"] == int(np.argmax(row["scores"]))
    assert row["prediction"] == item.candidates[row["choice"]]
    assert row["correct"] == (row["prediction"] == item.answer)


def test_multiple_choice_picks_the_likeliest_letter(engine: Engine, scorer: Scorer) -> None:
    import llama_cpp

    item = load_mcq(MCQ_SAMPLE, ["en"])["en"][0]
    prompt = mcq_prompt(item)
    assert prompt.endswith("\nD. O3\nAnswer:")
    row = mcq_row(scorer, item)
    # The same next-token distribution from llama-cpp-python's own evaluation path.
    engine.llm.reset()
    engine.llm.eval(engine.tokenize(prompt))
    logits = np.ctypeslib.as_array(
        llama_cpp.llama_get_logits_ith(engine.llm.ctx, -1), shape=(engine.llm.n_vocab(),)
    )
    letters = [
        max(logits[engine.tokenize(text, add_bos=False)[0]] for text in (letter, f" {letter}"))
        for letter in "ABCD"
    ]
    assert row["choice"] == int(np.argmax(letters))
    assert row["prediction"] == "ABCD"[row["choice"]]
