"""Cap each vector's default scale by what it does to held-out text in its language.

A scale that looks modest can still break a model (on Qwen2 an EN vector at 1 % of the
typical state norm made every answer "helf helf ..."). Before a file is written, its vector is
applied at its proposed default scale, on its own band, to held-out sentences in its language
(BMLAMA facts of the tune split, answer filled in: never extraction or test items), and the
perplexity of those sentences is compared with the unsteered model's. While it rises by more
than ``MAX_PERPLEXITY_RISE`` the scale is halved (at most ``HALVINGS`` times). The outcome is
recorded in the file's ``surgsteer.scale_check`` tag.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from surgsteer_cli.datasets.bmlama import load_bmlama
from surgsteer_cli.datasets.splits import load_splits
from surgsteer_cli.vector_file import SteeringVector
from surgsteer_convert.contrasts import filled
from surgsteer_convert.hooks import add_to_outputs

if TYPE_CHECKING:
    from surgsteer_convert.loading import LoadedModel

MAX_PERPLEXITY_RISE = 0.25
HALVINGS = 6
DEFAULT_SENTENCES = 16


def held_out_sentences(language: str, count: int = DEFAULT_SENTENCES) -> list[str]:
    """The first ``count`` tune-split BMLAMA facts in ``language``, answer filled in."""
    tune = load_splits().bmlama_tune
    items = [item for item in load_bmlama([language])[language] if item.row in tune]
    return [filled(item) for item in items[:count]]


def perplexity(
    loaded: LoadedModel, sentences: Sequence[str], added: dict[int, torch.Tensor] | None = None
) -> float:
    """Perplexity of ``sentences`` (one right-padded batch), with ``added[N]`` added to the
    output of block N."""
    tokenizer = loaded.tokenizer
    rows = [tokenizer(text, add_special_tokens=True)["input_ids"] for text in sentences]
    width = max(len(row) for row in rows)
    pad = tokenizer.pad_token_id or 0
    input_ids = torch.tensor([row + [pad] * (width - len(row)) for row in rows])
    attention = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in rows])
    with torch.inference_mode(), add_to_outputs(loaded.blocks, added or {}):
        logits = loaded.model(input_ids=input_ids, attention_mask=attention).logits.float()
    targets = input_ids[:, 1:].masked_fill(attention[:, 1:] == 0, -100)
    loss = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100
    )
    return math.exp(float(loss))


def capped(
    loaded: LoadedModel, vector: SteeringVector, sentences: Sequence[str], baseline: float
) -> SteeringVector:
    """``vector`` with its default scale halved until the held-out perplexity rises by at
    most MAX_PERPLEXITY_RISE, and the check recorded in ``scale_check``."""
    proposed = scale = vector.default_scale
    limit = baseline * (1 + MAX_PERPLEXITY_RISE)
    for halvings in range(HALVINGS + 1):
        added = {
            layer: torch.from_numpy(vector.directions[layer] * scale)
            for layer in vector.band_layers
        }
        steered = perplexity(loaded, sentences, added)
        if steered <= limit or halvings == HALVINGS:
            break
        scale /= 2
    passed = steered <= limit
    note = (
        f"perplexity of {len(sentences)} held-out {vector.language} sentences (tune-split "
        f"BMLAMA facts) x{steered / baseline:.3f} at scale {scale:.4g} on the band (limit "
        f"x{1 + MAX_PERPLEXITY_RISE:.2f}); proposed scale {proposed:.4g}"
        + (f", halved {halvings} time(s)" if halvings else "")
        + ("" if passed else f"; still above the limit after {HALVINGS} halvings")
    )
    return dataclasses.replace(vector, default_scale=scale, scale_check=note)
