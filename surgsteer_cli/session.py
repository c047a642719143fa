"""From a question to the steering that answers it: one loaded model, its profiles, the
language of each question, and the control buffer that language gets.

Rules (shared by ``ask``, ``chat`` and ``doctor``):

* ``--lang L`` chooses the profile whatever language the question is in; otherwise the
  language is detected among English, the shipped-profile languages and the loaded profiles.
* English, an unknown or unsure language, or a language without a profile: no steering at all
  (the EN vector maps one particular language towards English, so it needs a language too).
* Otherwise the profile's EN and LOC vectors at their bands and scales (defaults from files).
* ``--lang`` with a language code surgsteer has no profile for (``fr``) answers unsteered and
  says so; text that is not a language code is an error.

Answers that fall into a loop ("1111…", "Korea Korea Korea…") are cut by a loop detector
(``repeats_itself``), not prevented by a repeat penalty: a penalty changes the tokens of every
answer (and legitimate repeats such as "112" or "1-1-9"), so steered and unsteered answers
would no longer compare; the detector only ends text that has already degenerated.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from surgsteer_cli import langid
from surgsteer_cli.engine import Completion, Engine
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.profiles import Profile, discover
from surgsteer_cli.prompting import Prompt, Turn, qa_prompt, stop_sequences

ENGLISH = "en"

LOOP_MIN_CHARS = 60
LOOP_MIN_REPEATS = 4
LOOP_MAX_PERIOD = 100
"""An answer ends in a loop when its last characters are one unit of up to LOOP_MAX_PERIOD
characters repeated back to back, at least LOOP_MIN_REPEATS times over at least
LOOP_MIN_CHARS characters: sixty "1"s, ten "Korea "s or four copies of a sentence."""


@dataclass(frozen=True)
class RuntimeOptions:
    """How to load the model and where to look for vectors (the shared CLI options)."""

    model: str | None = None
    gpu_layers: int | None = None
    threads: int | None = None
    vectors: tuple[Path, ...] = ()
    n_ctx: int = 2048


@dataclass
class AnswerSettings:
    """How to steer and sample answers: the shared CLI options, changed in chat by /commands."""

    language: str | None = None  # None: detect it from each question
    steer: bool = True
    en_scale: float | None = None
    loc_scale: float | None = None
    max_tokens: int = 200
    temperature: float = 0.0
    seed: int | None = 0


@dataclass(frozen=True)
class Steering:
    """What one answer runs with. ``confidence`` is None when ``--lang`` chose the language;
    ``profile`` is None when the answer is unsteered, and ``note`` then says why."""

    language: str | None
    confidence: float | None
    profile: str | None = None
    scales: dict[str, float] = field(default_factory=dict)
    layers: dict[str, list[int]] = field(default_factory=dict)
    note: str | None = None
    files: list[Path] = field(default_factory=list)
    buffer: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> tuple[object, ...]:
        """Equal keys mean equal control buffers (used to skip re-applying the same one)."""
        return (self.profile, tuple(sorted(self.scales.items())))


def load_engine(options: RuntimeOptions) -> Engine:
    """Resolve the model (``None``: the embedded default) and load it."""
    from surgsteer_cli.models import resolve_model

    return Engine(
        resolve_model(options.model),
        n_ctx=options.n_ctx,
        n_threads=options.threads,
        n_gpu_layers=options.gpu_layers,
    )


class Session:
    """A loaded model plus the profiles made for it."""

    def __init__(self, engine: Engine, profiles: dict[str, Profile]) -> None:
        self.engine = engine
        self.profiles = profiles
        self._applied = Steering(None, None).key  # a fresh model runs unsteered

    @classmethod
    def open(cls, options: RuntimeOptions) -> Session:
        """Resolve and load the model, then find the profiles made for it."""
        engine = load_engine(options)
        return cls(engine, discover(engine.spec, options.vectors))

    @property
    def languages(self) -> list[str]:
        """Valid ``--lang`` values: every detectable language and every profile language."""
        return sorted(set(langid.LANGUAGES) | set(self.profiles))

    def check_language(self, language: str) -> str:
        """``language`` in lower case: a known language, a profile's, or any other ISO 639-1
        code (answered unsteered); anything else is a SurgsteerError suggesting a code."""
        code = language.strip().lower()
        slip = langid.COUNTRY_SLIPS.get(code)
        if code in self.languages or (code in langid.ISO_639_1 and slip is None):
            return code
        if slip:
            alike = [slip]
        else:  # a typo in a code: the supported codes with its first letter
            alike = [known for known in self.languages if len(code) == 2 and known[0] == code[0]]
        hint = f"did you mean {', '.join(alike)}? " if alike else ""
        raise SurgsteerError(
            f"unknown language {language!r}; {hint}valid: {', '.join(self.languages)} "
            "or another ISO 639-1 code (answered unsteered)"
        )

    def steering(
        self,
        question: str,
        *,
        language: str | None = None,
        steer: bool = True,
        en_scale: float | None = None,
        loc_scale: float | None = None,
    ) -> Steering:
        """Decide the steering for ``question``; ``language`` (from ``--lang``) skips detection."""
        if language is not None:
            code, confidence = self.check_language(language), None
        else:
            detection = langid.detect(question, self._candidates())
            code, confidence = detection.language, detection.confidence
        if not steer:
            return Steering(code, confidence, note="steering is off")
        if code is None:
            return Steering(code, confidence, note="language unknown or unsure: no steering")
        if code == ENGLISH:
            return Steering(code, confidence, note="English needs no steering")
        profile = self.profiles.get(code)
        if profile is None:
            return Steering(code, confidence, note=f"no {code} profile for this model: unsteered")
        return Steering(
            code,
            confidence,
            profile=code,
            scales=profile.scales(en_scale, loc_scale),
            layers={
                role: vector.band_layers
                for role, vector in (("en", profile.en), ("loc", profile.loc))
                if vector is not None
            },
            buffer=profile.buffer(self.engine.spec, en_scale=en_scale, loc_scale=loc_scale),
            files=list(profile.sources),
        )

    def apply(self, steering: Steering) -> bool:
        """Put ``steering`` in effect; True if the control vector changed (it never reloads)."""
        if steering.key == self._applied:
            return False
        self.engine.set_control(steering.buffer)
        self._applied = steering.key
        return True

    def answer(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        max_tokens: int,
        temperature: float = 0.0,
        seed: int | None = None,
        stop: Sequence[str] = (),
    ) -> Answer:
        """Stream the answer to ``question`` after ``history`` under the applied steering,
        ending also at any of ``stop``. Raises at once (before streaming) if the prompt does
        not fit the context."""
        completion = self.engine.generate(
            self.prompt(question, history),
            max_tokens=max_tokens,
            temperature=temperature,
            seed=seed,
            stop=(*self.stop_sequences, *stop),
        )
        return Answer(completion)

    @property
    def stop_sequences(self) -> tuple[str, ...]:
        """Where an answer ends besides the end of text."""
        return stop_sequences(self.engine.chat_template)

    def prompt_tokens(self, question: str, history: Sequence[Turn] = ()) -> int:
        """Length in tokens of the prompt for ``question`` after ``history``."""
        return len(self.engine.tokenize(self.prompt(question, history)))

    def prompt(self, question: str, history: Sequence[Turn] = ()) -> Prompt:
        """The model's prompt for ``question`` after ``history``."""
        return qa_prompt(question, chat_template=self.engine.chat_template, history=history)

    def _candidates(self) -> list[str]:
        extra = [code for code in self.profiles if code in langid.LANGUAGES]
        return sorted(set(langid.DEFAULT_LANGUAGES) | set(extra))


class Answer:
    """An answer as it streams, without the whitespace a model puts before it. Once read,
    ``finish_reason`` says why it ended: "stop" (the model ended it), "length" (max_tokens)
    or "repetition" (it fell into a loop, see ``repeats_itself``, and was cut)."""

    def __init__(self, completion: Completion) -> None:
        self._completion = completion
        self.finish_reason: str | None = None

    def __iter__(self) -> Iterator[str]:
        text = ""
        for piece in self._completion:
            if not text:
                piece = piece.lstrip()
            if not piece:
                continue
            text += piece
            yield piece
            if repeats_itself(text):
                self.finish_reason = "repetition"
                return
        self.finish_reason = self._completion.finish_reason


def repeats_itself(text: str) -> bool:
    """True when ``text`` ends in a loop (see LOOP_MIN_CHARS)."""
    longest = min(LOOP_MAX_PERIOD, len(text) // LOOP_MIN_REPEATS)
    for period in range(1, longest + 1):
        span = max(period * LOOP_MIN_REPEATS, LOOP_MIN_CHARS)
        if span <= len(text) and text[-span + period :] == text[-span:-period]:
            return True
    return False
