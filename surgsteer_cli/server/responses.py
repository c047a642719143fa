"""Response objects in the OpenAI schema, with the ``surgsteer`` extension field saying which
steering a request got (also in two response headers)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi.responses import JSONResponse

from surgsteer_cli.display import steering_record
from surgsteer_cli.session import Steering
from surgsteer_cli.untrusted import json_text


class Json(JSONResponse):
    """A JSON response that is always valid UTF-8: a file name that is not UTF-8 (a vector
    file's, in the ``surgsteer`` field) is sent as ``\\uXXXX`` escapes, not as a 500."""

    def render(self, content: Any) -> bytes:
        return json_text(content).encode("utf-8")


def steering_info(steering: Steering) -> dict[str, object]:
    """The ``surgsteer`` field: language, where it came from, profile, scales, layers, note."""
    return {
        **steering_record(steering),
        "language_source": "request" if steering.confidence is None else "detected",
    }


def steering_headers(steering: Steering) -> dict[str, str]:
    """``X-Surgsteer-Language`` (a code or ``unknown``) and ``X-Surgsteer-Profile`` (a code
    or ``none``)."""
    return {
        "X-Surgsteer-Language": steering.language or "unknown",
        "X-Surgsteer-Profile": steering.profile or "none",
    }


@dataclass(frozen=True)
class Reply:
    """The response objects of one request: a chat or a text completion, whole or in chunks."""

    kind: Literal["chat", "text"]
    model: str
    steering: Steering
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: int = field(default_factory=lambda: int(time.time()))

    def whole(self, text: str, finish_reason: str | None) -> dict[str, object]:
        """The non-streaming response."""
        if self.kind == "chat":
            choice = {"message": {"role": "assistant", "content": text}}
            return self._object("chat.completion", choice, finish_reason, with_steering=True)
        return self._object("text_completion", {"text": text}, finish_reason, with_steering=True)

    def opening(self) -> dict[str, object]:
        """The first stream chunk: no text yet (the assistant role for chat), the steering."""
        delta = {"role": "assistant", "content": ""}
        return self._chunk(delta, None, with_steering=True)

    def piece(self, text: str) -> dict[str, object]:
        """A stream chunk with the next piece of text."""
        return self._chunk({"content": text}, None)

    def closing(self, finish_reason: str | None) -> dict[str, object]:
        """The last stream chunk: why the text ended."""
        return self._chunk({}, finish_reason)

    def _chunk(
        self, delta: dict[str, str], finish_reason: str | None, *, with_steering: bool = False
    ) -> dict[str, object]:
        if self.kind == "chat":
            return self._object(
                "chat.completion.chunk", {"delta": delta}, finish_reason, with_steering
            )
        choice = {"text": delta.get("content", "")}
        return self._object("text_completion", choice, finish_reason, with_steering)

    def _object(
        self, kind: str, choice: dict[str, object], finish_reason: str | None, with_steering: bool
    ) -> dict[str, object]:
        result: dict[str, object] = {
            "id": f"{'chatcmpl' if self.kind == 'chat' else 'cmpl'}-{self.id}",
            "object": kind,
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, **choice, "finish_reason": finish_reason}],
        }
        if with_steering:
            result["surgsteer"] = steering_info(self.steering)
        return result
