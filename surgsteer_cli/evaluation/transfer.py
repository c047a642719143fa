"""The Transfer axis: BMLAMA cloze facts ranked by log-likelihood, or multiple choice by the
answer letter's probability."""

from __future__ import annotations

from typing import Any

import numpy as np

from surgsteer_cli.datasets.bmlama import MASK, ClozeItem
from surgsteer_cli.datasets.mcq import LETTERS, McqItem
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.evaluation.scoring import Scorer
from surgsteer_cli.prompting import Prompt, qa_prompt

MCQ_INSTRUCTION = "Answer with the letter of the correct option."
ANSWER_PREFIX = "Answer:"


def choice_row(
    scorer: Scorer, item: ClozeItem | McqItem, system: str | None = None
) -> dict[str, Any]:
    """The model's choice for a cloze or multiple-choice item, and whether it is right. A
    multiple-choice question comes after the ``system`` line; a cloze sentence is scored
    alone (a system line would be part of the sentence's likelihood)."""
    if isinstance(item, ClozeItem):
        return cloze_row(scorer, item)
    return mcq_row(scorer, item, system)


def cloze_row(scorer: Scorer, item: ClozeItem) -> dict[str, Any]:
    """Fill the mask with each candidate; the most likely sentence is the model's choice."""
    sequences = [
        scorer.sentence_tokens(item.prompt.replace(MASK, candidate))
        for candidate in item.candidates
    ]
    scores = scorer.continuation_logprobs(sequences)
    choice = int(np.argmax(scores))
    return {
        "choice": choice,
        "prediction": item.candidates[choice],
        "correct": item.candidates[choice] == item.answer,
        "scores": [round(score, 4) for score in scores],
    }


def mcq_row(scorer: Scorer, item: McqItem, system: str | None = None) -> dict[str, Any]:
    """One pass over the question and its options; the likeliest answer letter wins (each
    letter counts as its most likely single-token spelling, with or without a space)."""
    template = scorer.engine.chat_template
    prompt = mcq_prompt(item, chat_template=template, system=system)
    logprobs = scorer.next_token_logprobs(prompt)
    scores = [max(logprobs[token] for token in tokens) for tokens in letter_tokens(scorer)]
    choice = int(np.argmax(scores))
    return {
        "choice": choice,
        "prediction": LETTERS[choice],
        "correct": LETTERS[choice] == item.answer,
        "scores": [round(float(score), 4) for score in scores],
    }


def mcq_prompt(
    item: McqItem, *, chat_template: str | None = None, system: str | None = None
) -> str | Prompt:
    """The question and lettered options after ``system``; the model's next token should be
    the letter."""
    lines = [f"{letter}. {text}" for letter, text in zip(LETTERS, item.options, strict=True)]
    block = "\n".join([item.question, *lines])
    if chat_template:
        # The reply starts with ANSWER_PREFIX: without it a chat model opens with a sentence
        # ("The correct answer is") and the letters get a fifth of the probability.
        asked = qa_prompt(f"{block}\n{MCQ_INSTRUCTION}", chat_template=chat_template, system=system)
        return Prompt((*asked.pieces, (ANSWER_PREFIX, False)))
    head = f"{system}\n\n" if system else ""
    return f"{head}{block}\n{ANSWER_PREFIX}"


def letter_tokens(scorer: Scorer) -> list[list[int]]:
    """For each answer letter, the tokens that spell it alone ("A", " A")."""
    found = []
    for letter in LETTERS:
        spellings = [scorer.engine.tokenize(text, add_bos=False) for text in (letter, f" {letter}")]
        tokens = [spelling[0] for spelling in spellings if len(spelling) == 1]
        if not tokens:
            raise SurgsteerError(f"the model has no single token for the answer letter {letter}")
        found.append(tokens)
    return found
