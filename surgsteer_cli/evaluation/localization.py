"""The Localization axis: short answers to country-neutral BLEnD questions, soft-matched."""

from __future__ import annotations

from typing import Any

from surgsteer_cli.datasets.blend import BlendItem
from surgsteer_cli.engine import Engine
from surgsteer_cli.evaluation.matching import soft_match
from surgsteer_cli.prompting import qa_prompt, stop_sequences

MAX_ANSWER_TOKENS = 24


def answer_row(engine: Engine, item: BlendItem) -> dict[str, Any]:
    """Answer ``item.neutral`` greedily up to the first line end and score it against the
    annotators' answers (local ones in the item's language, English ones as English)."""
    template = engine.chat_template
    prompt = qa_prompt(item.neutral, chat_template=template)
    engine.llm.reset()  # from a clean cache, so an answer never depends on the one before
    text = "".join(
        engine.generate(
            prompt,
            max_tokens=MAX_ANSWER_TOKENS,
            temperature=0.0,
            stop=["\n", *stop_sequences(template)],
        )
    )
    prediction = text.strip()
    correct = soft_match(prediction, item.answers, item.language) or soft_match(
        prediction, item.answers_en, "en"
    )
    return {"prediction": prediction, "correct": correct}
