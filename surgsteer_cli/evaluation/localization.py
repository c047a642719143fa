"""The Localization axis: short answers to questions that do not name the country.

Three measures:

- ``native``: a BLEnD question in the local language (country removed), as a speaker would
  ask, soft-matched against the annotations of the question's own region;
- ``english``: the same question in English (country removed) under the local language's
  profile: what ``surgsteer ask --lang L "..."`` does;
- ``facts``: an everyday fact about the country (``datasets.facts``: emergency number,
  currency...) asked in English without the country, as ``ask`` asks it, matched against the
  fact's reference answers.

A chat model is asked the way BLEnD asks (its ``inst-4`` instruction, in the language of the
question, inside the chat template); a base model gets the Q/A transcript ``ask`` uses.
"""

from __future__ import annotations

from typing import Any

from surgsteer_cli.datasets.blend import BlendItem, Instruction
from surgsteer_cli.datasets.facts import FactItem
from surgsteer_cli.engine import Engine
from surgsteer_cli.evaluation.matching import soft_match
from surgsteer_cli.prompting import Prompt, qa_prompt, stop_sequences

MAX_ANSWER_TOKENS = 24
MAX_FACT_TOKENS = 40
"""A fact is answered in a sentence ("Korea's emergency number is 119."), not a word."""
MEASURES = ("native", "english", "facts")
AXES = {"native": "localization", "english": "localization-en", "facts": "localization-facts"}
"""The result-row axis of each measure."""


def localization_prompt(
    item: BlendItem,
    measure: str,
    instruction: Instruction,
    chat_template: str | None,
    system: str | None = None,
) -> Prompt:
    """The prompt that asks ``item`` for ``measure`` (module doc), after ``system``."""
    local = measure == "native"
    question = item.neutral if local else item.neutral_en
    if chat_template:
        asked = instruction.render(question, local=local)
        return qa_prompt(asked, chat_template=chat_template, system=system)
    return qa_prompt(question, system=system)


def answer_row(
    engine: Engine,
    item: BlendItem | FactItem,
    *,
    measure: str,
    instruction: Instruction | None = None,
    system: str | None = None,
) -> dict[str, Any]:
    """Answer ``item`` greedily up to the first line end after the ``system`` line, and score
    it: a BLEnD question against the annotators' answers (local ones in the item's language,
    English ones as English), a fact against its reference answers."""
    template = engine.chat_template
    if isinstance(item, FactItem):
        prompt = qa_prompt(item.question, chat_template=template, system=system)
        tokens = MAX_FACT_TOKENS
    elif instruction is not None:
        prompt = localization_prompt(item, measure, instruction, template, system)
        tokens = MAX_ANSWER_TOKENS
    else:
        raise ValueError("a BLEnD question needs its instruction")
    engine.llm.reset()  # from a clean cache, so an answer never depends on the one before
    text = "".join(
        engine.generate(
            prompt, max_tokens=tokens, temperature=0.0, stop=["\n", *stop_sequences(template)]
        )
    )
    prediction = text.strip()
    if isinstance(item, FactItem):
        return {"prediction": prediction, "correct": item.is_right(prediction)}
    correct = soft_match(prediction, item.answers, item.language) or soft_match(
        prediction, item.answers_en, "en"
    )
    return {"prediction": prediction, "correct": correct}
