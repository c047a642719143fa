"""The Localization axis: short answers to country-neutral BLEnD questions, soft-matched.

Two measures, both scored against the annotations of the question's own region:

- ``native``: the question in the local language (country removed), as a speaker would ask;
- ``english``: the same question in English (country removed) under the local language's
  profile: what ``surgsteer ask --lang L "..."`` does.

A chat model is asked the way BLEnD asks (its ``inst-4`` instruction, in the language of the
question, inside the chat template); a base model gets the Q/A transcript ``ask`` uses.
"""

from __future__ import annotations

from typing import Any

from surgsteer_cli.datasets.blend import BlendItem, Instruction
from surgsteer_cli.engine import Engine
from surgsteer_cli.evaluation.matching import soft_match
from surgsteer_cli.prompting import Prompt, qa_prompt, stop_sequences

MAX_ANSWER_TOKENS = 24
MEASURES = ("native", "english")
AXES = {"native": "localization", "english": "localization-en"}
"""The result-row axis of each measure."""


def localization_prompt(
    item: BlendItem, measure: str, instruction: Instruction, chat_template: str | None
) -> Prompt:
    """The prompt that asks ``item`` for ``measure`` (module doc)."""
    local = measure == "native"
    question = item.neutral if local else item.neutral_en
    if chat_template:
        return qa_prompt(instruction.render(question, local=local), chat_template=chat_template)
    return qa_prompt(question)


def answer_row(
    engine: Engine, item: BlendItem, *, measure: str, instruction: Instruction
) -> dict[str, Any]:
    """Answer ``item`` greedily up to the first line end and score it against the annotators'
    answers (local ones in the item's language, English ones as English)."""
    template = engine.chat_template
    engine.llm.reset()  # from a clean cache, so an answer never depends on the one before
    text = "".join(
        engine.generate(
            localization_prompt(item, measure, instruction, template),
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
