"""Prompt formats: a Q/A transcript for base models, the chat template when a model has one."""

from __future__ import annotations

from collections.abc import Sequence

Turn = tuple[str, str]  # (question, answer)

STOP_BASE = ("\nQ:", "\n\n")


def qa_prompt(
    question: str, *, chat_template: str | None = None, history: Sequence[Turn] = ()
) -> str:
    """The text that makes the model answer ``question`` after the earlier ``history`` turns."""
    if chat_template:
        return _templated(question, chat_template, history)
    turns = [f"Q: {q}\nA: {a}\n\n" for q, a in history]
    return "".join(turns) + f"Q: {question}\nA:"


def stop_sequences(chat_template: str | None) -> tuple[str, ...]:
    """Where an answer ends: the next question for base models, the end of turn otherwise."""
    return () if chat_template else STOP_BASE


def _templated(question: str, template: str, history: Sequence[Turn]) -> str:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    messages = []
    for q, a in history:
        messages += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    messages.append({"role": "user", "content": question})
    # The tokenizer adds BOS itself, so the template must not add a second one.
    formatter = Jinja2ChatFormatter(template, eos_token="", bos_token="")
    return formatter(messages=messages).prompt
