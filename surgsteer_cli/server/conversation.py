"""OpenAI chat messages as the question and earlier turns that ``surgsteer_cli.prompting``
turns into a prompt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from surgsteer_cli.prompting import Turn
from surgsteer_cli.server.errors import ApiError
from surgsteer_cli.server.types import ChatMessage


@dataclass(frozen=True)
class Conversation:
    """``question`` after ``history``; ``last_user`` is the text whose language is detected."""

    question: str
    history: tuple[Turn, ...]
    last_user: str


def conversation(messages: Sequence[ChatMessage]) -> Conversation:
    """Pair user and assistant messages into turns. System (and developer) messages go before
    the next user message, as Gemma's own chat template does; consecutive user messages are
    joined. The last message must be the user's."""
    if messages[-1].role != "user":
        raise ApiError(400, "the last message must be the user's", param="messages")
    turns: list[Turn] = []
    pending: list[str] = []  # texts since the last answer: system messages and the question
    asked = False  # whether ``pending`` holds a user message
    for index, message in enumerate(messages):
        if message.role != "assistant":
            pending.append(message.text)
            asked = asked or message.role == "user"
        elif not asked:
            raise ApiError(
                400, "an assistant message must follow a user message", param=f"messages.{index}"
            )
        else:
            turns.append((_joined(pending), message.text))
            pending, asked = [], False
    return Conversation(_joined(pending), tuple(turns), messages[-1].text)


def _joined(texts: list[str]) -> str:
    return "\n\n".join(text for text in texts if text)
