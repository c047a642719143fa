"""Cap each vector's default scale by what it does to held-out text in its language.

A scale that looks modest can still break a model (on Qwen2 an EN vector at 1 % of the
typical state norm made every answer "helf helf ..."), or make it answer in English (Qwen's
es EN vector at its natural scale: 7 of 30 Spanish questions, experiments §16). Before a file
is written, its vector is applied at its proposed default scale, on its own band, to held-out
text in its language (tune-split items: never extraction or test ones):

- the perplexity of BMLAMA facts (answer filled in) may rise by at most ``MAX_PERPLEXITY_RISE``;
- greedy answers to BLEnD questions in the language, asked the way eval asks them, may be
  detected as English no more often than unsteered.

While either fails the scale is halved (at most ``HALVINGS`` times). The outcome is recorded in
the file's ``surgsteer.scale_check`` tag. Both checks run the GGUF through llama.cpp with the
candidate vector applied as a control vector, exactly as ``surgsteer ask`` applies it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from surgsteer_cli.datasets.blend import LANGUAGE_REGION, load_blend, load_instructions
from surgsteer_cli.datasets.bmlama import load_bmlama
from surgsteer_cli.datasets.splits import load_splits
from surgsteer_cli.engine import Engine
from surgsteer_cli.evaluation.answer_language import in_english
from surgsteer_cli.evaluation.localization import localization_prompt
from surgsteer_cli.parallel import greedy_answers, token_logprobs
from surgsteer_cli.prompting import Prompt, stop_sequences
from surgsteer_cli.steering import control_buffer
from surgsteer_cli.vector_file import SteeringVector
from surgsteer_convert.contrasts import filled

MAX_PERPLEXITY_RISE = 0.25
HALVINGS = 6
DEFAULT_SENTENCES = 16
DEFAULT_QUESTIONS = 8
ANSWER_TOKENS = 12
CONTEXT_TOKENS = 512


def runtime(gguf: Path, threads: int | None = None, gpu_layers: int | None = None) -> Engine:
    """The GGUF in llama.cpp (the checks run in contexts of their own on its weights, see
    ``parallel``); the weights read, not mapped, so that their repacked copy is the only one
    in memory."""
    return Engine(
        gguf, n_ctx=CONTEXT_TOKENS, n_threads=threads, n_gpu_layers=gpu_layers, use_mmap=False
    )


@dataclass(frozen=True)
class HeldOut:
    """One language's held-out text and what the unsteered model does with it."""

    language: str
    sentences: list[str]
    perplexity: float
    prompts: list[Prompt]
    english_answers: int

    @classmethod
    def measure(cls, engine: Engine, language: str) -> HeldOut:
        """Held-out text for ``language``, scored unsteered."""
        sentences = held_out_sentences(language)
        prompts = held_out_prompts(engine.chat_template, language)
        return cls(
            language,
            sentences,
            perplexity(engine, sentences),
            prompts,
            english_answers(engine, prompts, language),
        )


def held_out_sentences(language: str, count: int = DEFAULT_SENTENCES) -> list[str]:
    """The first ``count`` tune-split BMLAMA facts in ``language``, answer filled in."""
    tune = load_splits().bmlama_tune
    items = [item for item in load_bmlama([language])[language] if item.row in tune]
    return [filled(item) for item in items[:count]]


def held_out_prompts(
    chat_template: str | None, language: str, count: int = DEFAULT_QUESTIONS
) -> list[Prompt]:
    """The first ``count`` tune-split BLEnD questions of ``language``'s region, in the language
    with the country removed, as eval asks them (BLEnD's instruction, the chat template)."""
    region = LANGUAGE_REGION[language]
    tune = load_splits().blend_tune
    items = [
        item
        for item in load_blend([region])
        if item.id in tune and item.consensus and item.neutralized
    ]
    instruction = load_instructions([region])[region]
    return [
        localization_prompt(item, "native", instruction, chat_template) for item in items[:count]
    ]


def english_answers(
    engine: Engine, prompts: Sequence[Prompt], language: str, control: np.ndarray | None = None
) -> int:
    """How many greedy answers (at most ANSWER_TOKENS) to ``prompts`` are detected as English
    rather than ``language``, under llama.cpp control buffer ``control`` (None: unsteered);
    the prompts are answered side by side, each from an empty cache as eval answers."""
    engine.set_control(control)
    stop = list(stop_sequences(engine.chat_template))
    answers = greedy_answers(engine, prompts, ANSWER_TOKENS, stop)
    return sum(in_english(answer, language) for answer in answers)


def perplexity(
    engine: Engine, sentences: Sequence[str], control: np.ndarray | None = None
) -> float:
    """Perplexity of ``sentences`` (over all their predicted tokens) under llama.cpp control
    buffer ``control`` (None: unsteered)."""
    engine.set_control(control)
    logprobs = np.concatenate(token_logprobs(engine, sentences))
    return math.exp(-float(logprobs.mean()))


def capped(engine: Engine, vector: SteeringVector, held_out: HeldOut) -> SteeringVector:
    """``vector`` with its default scale halved until the held-out perplexity rises by at
    most MAX_PERPLEXITY_RISE and no more answers are in English than unsteered; the check is
    recorded in ``scale_check``."""
    proposed = scale = vector.default_scale
    limit = held_out.perplexity * (1 + MAX_PERPLEXITY_RISE)
    for halvings in range(HALVINGS + 1):
        control = control_buffer(engine.spec, [(vector, scale, vector.band_layers)])
        steered = perplexity(engine, held_out.sentences, control)
        english = (
            english_answers(engine, held_out.prompts, held_out.language, control)
            if steered <= limit
            else None  # already failing: no need to generate
        )
        passed = english is not None and english <= held_out.english_answers
        if passed or halvings == HALVINGS:
            break
        scale /= 2
    engine.set_control(None)
    questions = len(held_out.prompts)
    note = (
        f"perplexity of {len(held_out.sentences)} held-out {vector.language} sentences "
        f"(tune-split BMLAMA facts) x{steered / held_out.perplexity:.3f} at scale {scale:.4g} "
        f"on the band (limit x{1 + MAX_PERPLEXITY_RISE:.2f}); answers to {questions} held-out "
        f"{vector.language} BLEnD questions in English: "
        f"{'not generated' if english is None else english} (unsteered "
        f"{held_out.english_answers}); proposed scale {proposed:.4g}"
        + (f", halved {halvings} time(s)" if halvings else "")
        + ("" if passed else f"; still failing after {HALVINGS} halvings")
        + "; checked in llama.cpp"
    )
    return dataclasses.replace(vector, default_scale=scale, scale_check=note)
