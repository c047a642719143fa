"""Request bodies of the OpenAI API, as far as the server honours them.

Fields that clients commonly send but this server does not use (``top_p``, ``user``,
``stream_options``...) are ignored; the ``surgsteer`` extension field is checked strictly so
that a misspelt option is an error rather than silently unsteered."""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PositiveInt, field_validator

from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.steering import check_scale


def _scale(scale: float) -> float:
    """The CLI's bounds for a scale (``profiles.check_scale``), as a validation error."""
    try:
        return check_scale(scale)
    except SurgsteerError as exc:
        raise ValueError(str(exc)) from None


Scale = Annotated[float, AfterValidator(_scale)]
"""A steering scale, within the CLI's bounds."""


TextValue = TypeVar("TextValue")


def _unicode(value: TextValue) -> TextValue:
    """``value`` (a text, a list of texts or text parts, or None) if its text is valid Unicode:
    JSON's ``\\ud800`` escapes can make a lone surrogate, which no model can tokenize.
    (Checked on the whole field, so that the error names the field, not a member of a union.)"""
    for item in value if isinstance(value, list) else [value]:
        text = item.text if isinstance(item, TextPart) else item
        try:
            str(text or "").encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"holds a lone surrogate (U+{ord(exc.object[exc.start]):04X})"
            ) from None
    return value


Text = Annotated[str, AfterValidator(_unicode)]
"""A string from a request: refused (400) unless it is valid Unicode."""


class SteerOptions(BaseModel):
    """The ``surgsteer`` extension field: overrides of the steering for this request."""

    model_config = ConfigDict(extra="forbid")

    lang: Text | None = None
    en_scale: Scale | None = None
    loc_scale: Scale | None = None
    steer: bool = True
    localize: Literal["prompt", "vector", "both"] | None = None  # None: the server's
    en_at: Literal["all", "prompt", "question"] | None = None  # None: the vector file's
    loc_at: Literal["all", "prompt", "question"] | None = None


class TextPart(BaseModel):
    """A text part of a message's content (images and audio are not supported)."""

    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    """One message of a conversation. ``developer`` is the newer name of ``system``."""

    role: Literal["system", "developer", "user", "assistant"]
    content: Annotated[str | list[TextPart] | None, AfterValidator(_unicode)] = None

    @property
    def text(self) -> str:
        """The content as one string."""
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class GenerationRequest(BaseModel):
    """What chat and text completions share: model, sampling, length, streaming, steering.
    ``temperature`` defaults to 0 (greedy), as in ``surgsteer ask``."""

    model: Text | None = None
    max_tokens: PositiveInt | None = None
    temperature: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    seed: Annotated[int, Field(ge=0, lt=2**32)] | None = None
    stop: Annotated[str | list[str] | None, AfterValidator(_unicode)] = None
    stream: bool = False
    n: Literal[1] = 1
    surgsteer: SteerOptions = Field(default_factory=SteerOptions)

    @property
    def stops(self) -> tuple[str, ...]:
        """The stop sequences asked for, as a tuple."""
        if self.stop is None:
            return ()
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)


class ChatCompletionRequest(GenerationRequest):
    """``POST /v1/chat/completions``; without a length limit the answer may fill the context."""

    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: PositiveInt | None = None

    @property
    def token_limit(self) -> int | None:
        """The newer ``max_completion_tokens`` wins over ``max_tokens``."""
        return self.max_completion_tokens or self.max_tokens


class CompletionRequest(GenerationRequest):
    """``POST /v1/completions``: one prompt, 16 tokens unless told otherwise (as OpenAI)."""

    prompt: Annotated[Text, Field(min_length=1)]

    @field_validator("prompt", mode="before")
    @classmethod
    def _one_prompt(cls, value: object) -> object:
        """A list of prompts is accepted when it holds exactly one."""
        if isinstance(value, list):
            if len(value) != 1:
                raise ValueError("send exactly one prompt per request")
            return value[0]
        return value

    @property
    def token_limit(self) -> int:
        """``max_tokens``, or OpenAI's default of 16."""
        return self.max_tokens or 16
