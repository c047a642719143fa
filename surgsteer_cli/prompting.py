"""Prompt formats: a Q/A transcript for base models, the chat template when a model has one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Turn = tuple[str, str]  # (question, answer)

STOP_BASE = ("\nQ:", "\nA:", "\n\n")  # a base model goes on with the transcript
_SLOT = "\ue000{}\ue001"  # private-use marks where user text goes in a rendered template


@dataclass(frozen=True)
class Prompt:
    """A prompt in pieces ``(text, is_template)``: only template pieces may spell special
    tokens such as ``<start_of_turn>``; user text is always tokenized as plain text."""

    pieces: tuple[tuple[str, bool], ...]

    def __str__(self) -> str:
        return "".join(text for text, _ in self.pieces)


def qa_prompt(
    question: str,
    *,
    chat_template: str | None = None,
    history: Sequence[Turn] = (),
    system: str | None = None,
) -> Prompt:
    """The prompt that makes the model answer ``question`` after the earlier ``history`` turns,
    with ``system`` as the system message (a base model reads it as the transcript's first
    line)."""
    if chat_template:
        return _templated(question, chat_template, history, system)
    turns = [f"Q: {q}\nA: {a}\n\n" for q, a in history]
    head = f"{system}\n\n" if system else ""
    return Prompt(((head + "".join(turns) + f"Q: {question}\nA:", False),))


def stop_sequences(chat_template: str | None) -> tuple[str, ...]:
    """Where an answer ends: the next question for base models, the end of turn otherwise."""
    return () if chat_template else STOP_BASE


def _templated(question: str, template: str, history: Sequence[Turn], system: str | None) -> Prompt:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    texts = [text for turn in history for text in turn] + [question]
    messages = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": _SLOT.format(i)}
        for i in range(len(texts))
    ]
    if system:
        texts.insert(0, system)
        messages = [{"role": "system", "content": _SLOT.format(0)}] + [
            {**message, "content": _SLOT.format(i + 1)} for i, message in enumerate(messages)
        ]
    # The tokenizer adds BOS itself, so the template must not add a second one.
    formatter = Jinja2ChatFormatter(template, eos_token="", bos_token="")
    rendered = formatter(messages=messages).prompt
    pieces: list[tuple[str, bool]] = []
    for i, text in enumerate(texts):
        before, rendered = rendered.split(_SLOT.format(i), 1)
        pieces += [(before, True), (text, False)]
    pieces.append((rendered, True))
    return Prompt(tuple((text, is_template) for text, is_template in pieces if text))
