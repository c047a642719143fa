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
the file's ``surgsteer.scale_check`` tag.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from surgsteer_cli.datasets.blend import LANGUAGE_REGION, load_blend, load_instructions
from surgsteer_cli.datasets.bmlama import load_bmlama
from surgsteer_cli.datasets.splits import load_splits
from surgsteer_cli.evaluation.answer_language import in_english
from surgsteer_cli.evaluation.localization import localization_prompt
from surgsteer_cli.vector_file import SteeringVector
from surgsteer_convert.contrasts import filled
from surgsteer_convert.hooks import add_to_outputs

if TYPE_CHECKING:
    from surgsteer_convert.loading import LoadedModel

MAX_PERPLEXITY_RISE = 0.25
HALVINGS = 6
DEFAULT_SENTENCES = 16
DEFAULT_QUESTIONS = 8
ANSWER_TOKENS = 12


@dataclass(frozen=True)
class HeldOut:
    """One language's held-out text and what the unsteered model does with it."""

    language: str
    sentences: list[str]
    perplexity: float
    prompts: list[str]
    english_answers: int

    @classmethod
    def measure(cls, loaded: LoadedModel, language: str) -> HeldOut:
        """Held-out text for ``language``, scored unsteered."""
        sentences = held_out_sentences(language)
        prompts = held_out_prompts(loaded, language)
        return cls(
            language,
            sentences,
            perplexity(loaded, sentences),
            prompts,
            english_answers(loaded, prompts, language),
        )


def held_out_sentences(language: str, count: int = DEFAULT_SENTENCES) -> list[str]:
    """The first ``count`` tune-split BMLAMA facts in ``language``, answer filled in."""
    tune = load_splits().bmlama_tune
    items = [item for item in load_bmlama([language])[language] if item.row in tune]
    return [filled(item) for item in items[:count]]


def held_out_prompts(
    loaded: LoadedModel, language: str, count: int = DEFAULT_QUESTIONS
) -> list[str]:
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
    template = getattr(loaded.tokenizer, "chat_template", None)
    return [
        str(localization_prompt(item, "native", instruction, template)) for item in items[:count]
    ]


def english_answers(
    loaded: LoadedModel,
    prompts: Sequence[str],
    language: str,
    added: dict[int, torch.Tensor] | None = None,
) -> int:
    """How many greedy answers (ANSWER_TOKENS, one left-padded batch) to ``prompts`` are
    detected as English rather than ``language``, with ``added[N]`` added after block N."""
    input_ids, attention, pad = _batch(loaded.tokenizer, prompts, left=True)
    with torch.inference_mode(), add_to_outputs(loaded.blocks, added or {}):
        output = loaded.model.generate(
            input_ids=input_ids,
            attention_mask=attention,
            max_new_tokens=ANSWER_TOKENS,
            do_sample=False,
            pad_token_id=pad,
        )
    new_tokens = output[:, input_ids.shape[1] :]
    answers = loaded.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
    return sum(in_english(answer, language) for answer in answers)


def perplexity(
    loaded: LoadedModel, sentences: Sequence[str], added: dict[int, torch.Tensor] | None = None
) -> float:
    """Perplexity of ``sentences`` (one right-padded batch), with ``added[N]`` added to the
    output of block N."""
    input_ids, attention, _ = _batch(loaded.tokenizer, sentences, left=False)
    with torch.inference_mode(), add_to_outputs(loaded.blocks, added or {}):
        logits = loaded.model(input_ids=input_ids, attention_mask=attention).logits.float()
    targets = input_ids[:, 1:].masked_fill(attention[:, 1:] == 0, -100)
    loss = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100
    )
    return math.exp(float(loss))


def _batch(
    tokenizer: object, texts: Sequence[str], *, left: bool
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Token ids and attention mask of ``texts`` padded to one width (on the left for
    generation, on the right for scoring), and the pad id."""
    rows = [tokenizer(text, add_special_tokens=True)["input_ids"] for text in texts]
    width = max(len(row) for row in rows)
    pad = tokenizer.pad_token_id or 0
    padded, masks = [], []
    for row in rows:
        fill = width - len(row)
        padded.append([pad] * fill + row if left else row + [pad] * fill)
        masks.append([0] * fill + [1] * len(row) if left else [1] * len(row) + [0] * fill)
    return torch.tensor(padded), torch.tensor(masks), pad


def capped(loaded: LoadedModel, vector: SteeringVector, held_out: HeldOut) -> SteeringVector:
    """``vector`` with its default scale halved until the held-out perplexity rises by at
    most MAX_PERPLEXITY_RISE and no more answers are in English than unsteered; the check is
    recorded in ``scale_check``."""
    proposed = scale = vector.default_scale
    limit = held_out.perplexity * (1 + MAX_PERPLEXITY_RISE)
    for halvings in range(HALVINGS + 1):
        added = {
            layer: torch.from_numpy(vector.directions[layer] * scale)
            for layer in vector.band_layers
        }
        steered = perplexity(loaded, held_out.sentences, added)
        english = (
            english_answers(loaded, held_out.prompts, held_out.language, added)
            if steered <= limit
            else None  # already failing: no need to generate
        )
        passed = english is not None and english <= held_out.english_answers
        if passed or halvings == HALVINGS:
            break
        scale /= 2
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
    )
    return dataclasses.replace(vector, default_scale=scale, scale_check=note)
