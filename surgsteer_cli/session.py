"""From a question to the steering that answers it: one loaded model, its profiles, the
language of each question, and the control buffer that language gets.

Rules (shared by ``ask``, ``chat`` and ``doctor``):

* ``--lang L`` chooses the profile whatever language the question is in; otherwise the
  language is detected among English, the shipped-profile languages and the loaded profiles.
* English, an unknown or unsure language, or a language without a profile: no steering at all
  (the EN vector maps one particular language towards English, so it needs a language too).
* Otherwise the profile's EN vector at its band and scale (defaults from files), and the
  language's culture by ``--localize``: ``prompt`` names the country in a system line ("The
  user is in South Korea."), ``vector`` adds the LOC vector, ``both`` does both. Each vector
  steers the tokens its placement covers (``steering``; ``--en-at``/``--loc-at``).
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

from surgsteer_cli import langid
from surgsteer_cli.engine import UNSTEERED, Completion, Control, Engine
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.profiles import Profile, discover
from surgsteer_cli.prompting import Prompt, Turn, qa_prompt, stop_sequences
from surgsteer_cli.steering import check_placement, control, location_line, parts

ENGLISH = "en"
LOCALIZE = ("prompt", "vector", "both")
DEFAULT_LOCALIZE = "prompt"
"""How the culture of a profile's language reaches the model (module doc). ``prompt`` is the
default: on the test split it retrieves more of what the model knows than any LOC vector
(docs/experiments.md §17)."""

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


@dataclass(frozen=True)
class SteeringRequest:
    """What a caller (``ask``, ``chat``, a server request) asks of the steering of an answer."""

    language: str | None = None  # None: detect it from each question
    steer: bool = True
    en_scale: float | None = None  # None: the vector file's default
    loc_scale: float | None = None
    localize: str = DEFAULT_LOCALIZE
    en_at: str | None = None  # a placement; None: the vector file's
    loc_at: str | None = None

    def __post_init__(self) -> None:
        if self.localize not in LOCALIZE:
            raise SurgsteerError(
                f"unknown --localize {self.localize[:40]!r}; choose from {', '.join(LOCALIZE)}"
            )
        for placement in (self.en_at, self.loc_at):
            if placement is not None:
                check_placement(placement)

    @property
    def placements(self) -> dict[str, str]:
        """The placements asked for explicitly, by role."""
        asked = {"en": self.en_at, "loc": self.loc_at}
        return {role: placement for role, placement in asked.items() if placement}


@dataclass
class AnswerOptions:
    """How to steer and sample answers: the shared CLI options, changed in chat by /commands."""

    request: SteeringRequest = field(default_factory=SteeringRequest)
    max_tokens: int = 200
    temperature: float = 0.0
    seed: int | None = 0


@dataclass(frozen=True)
class Steering:
    """What one answer runs with. ``confidence`` is None when ``--lang`` chose the language;
    ``profile`` is None when the answer is unsteered, and ``note`` then says why. ``system``
    is the system line that names the country (``--localize prompt|both``)."""

    language: str | None
    confidence: float | None
    profile: str | None = None
    scales: dict[str, float] = field(default_factory=dict)
    layers: dict[str, list[int]] = field(default_factory=dict)
    placements: dict[str, str] = field(default_factory=dict)
    localize: str | None = None
    system: str | None = None
    note: str | None = None
    files: list[Path] = field(default_factory=list)
    control: Control = field(default=UNSTEERED, repr=False, compare=False)

    @property
    def key(self) -> tuple[object, ...]:
        """Equal keys mean the same steering (used to skip re-applying it)."""
        return (
            self.profile,
            tuple(sorted(self.scales.items())),
            tuple(sorted(self.placements.items())),
            self.system,
        )


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

    def steering(self, question: str, request: SteeringRequest) -> Steering:
        """Decide the steering for ``question``; ``request.language`` (``--lang``) skips
        detection."""
        if request.language is not None:
            code, confidence = self.check_language(request.language), None
        else:
            detection = langid.detect(question, self._candidates())
            code, confidence = detection.language, detection.confidence
        if not request.steer:
            return Steering(code, confidence, note="steering is off")
        if code is None:
            return Steering(code, confidence, note="language unknown or unsure: no steering")
        if code == ENGLISH:
            return Steering(code, confidence, note="English needs no steering")
        profile = self.profiles.get(code)
        if profile is None:
            return Steering(code, confidence, note=f"no {code} profile for this model: unsteered")
        system = location_line(code) if request.localize in ("prompt", "both") else None
        note = None
        roles = ["en"]
        if request.localize in ("vector", "both") or system is None:
            roles.append("loc")
        if request.localize != "vector" and system is None:
            note = f"no country known for {code}: localized by the LOC vector"
        steered = parts(
            profile,
            self.engine.spec,
            roles=roles,
            en_scale=request.en_scale,
            loc_scale=request.loc_scale,
        )
        placements = {
            vector.role: request.placements.get(vector.role) or vector.placement
            for vector, _, _ in steered
        }
        return Steering(
            code,
            confidence,
            profile=code,
            scales={vector.role: scale for vector, scale, _ in steered},
            layers={vector.role: list(layers) for vector, _, layers in steered},
            placements=placements,
            localize=request.localize,
            system=system,
            note=note,
            control=control(self.engine.spec, steered, placements),
            files=list(profile.sources),
        )

    def apply(self, steering: Steering) -> bool:
        """Put ``steering`` in effect; True if the control vector changed (it never reloads)."""
        if steering.key == self._applied:
            return False
        self.engine.set_control(steering.control)
        self._applied = steering.key
        return True

    def answer(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        system: str | None = None,
        max_tokens: int,
        temperature: float = 0.0,
        seed: int | None = None,
        stop: Sequence[str] = (),
    ) -> Answer:
        """Stream the answer to ``question`` after ``history`` and the ``system`` line (a
        steering's ``system``) under the applied steering, ending also at any of ``stop``.
        Raises at once (before streaming) if the prompt does not fit the context."""
        completion = self.engine.generate(
            self.prompt(question, history, system=system),
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

    def prompt_tokens(
        self, question: str, history: Sequence[Turn] = (), *, system: str | None = None
    ) -> int:
        """Length in tokens of the prompt for ``question`` after ``history`` and ``system``."""
        return len(self.engine.tokenize(self.prompt(question, history, system=system)))

    def prompt(
        self, question: str, history: Sequence[Turn] = (), *, system: str | None = None
    ) -> Prompt:
        """The model's prompt for ``question`` after ``history``, with ``system`` as its
        system line."""
        return qa_prompt(
            question, chat_template=self.engine.chat_template, history=history, system=system
        )

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
