"""Residual-stream states of decoder-block outputs for many prompts, in padded batches.

torch is imported only when forward passes run, so option lists (``POOLS``) stay cheap to import.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from surgsteer_cli import console
from surgsteer_cli.errors import DataError

if TYPE_CHECKING:
    import torch

    from surgsteer_convert.loading import LoadedModel

POOLS = ("mean", "last")
DEFAULT_BATCH_TOKENS = 2048
SINK_FACTOR = 10.0
"""A token whose state norm at a block exceeds this many times the prompt's median token norm
there is an attention sink carrying "massive activations" (Sun et al., 2024): a few
coordinates thousands of times larger than the rest, on the first token and some
delimiters. Sinks are left out of mean pooling and of the typical norm, which they would
otherwise dominate (on Qwen2 the first content token alone outweighs the rest of a prompt)."""


@dataclass
class States:
    """Block outputs per prompt: ``last``/``mean`` are [prompt, block, n_embd] float32.

    ``last`` is the state at the final token; ``mean`` averages the prompt's content tokens
    (special tokens such as BOS and attention sinks, see :data:`SINK_FACTOR`, whose states are
    huge and nearly identical across prompts, are left out); ``norm`` [prompt, block] is the
    mean L2 norm of the same tokens' states.
    """

    index: dict[str, int]
    last: np.ndarray
    mean: np.ndarray
    norm: np.ndarray

    def take(self, prompts: Sequence[str], pool: str) -> np.ndarray:
        """States of ``prompts`` (in that order) pooled as ``pool`` ("mean" or "last")."""
        return getattr(self, pool)[[self.index[prompt] for prompt in prompts]]

    def norms(self, prompts: Sequence[str]) -> np.ndarray:
        """Per-token state norms [prompt, block] of ``prompts``."""
        return self.norm[[self.index[prompt] for prompt in prompts]]


def collect(
    loaded: LoadedModel,
    prompts: Iterable[str],
    *,
    max_batch_tokens: int = DEFAULT_BATCH_TOKENS,
) -> States:
    """Run every distinct prompt through the model; batches hold at most ``max_batch_tokens``."""
    unique = list(dict.fromkeys(prompts))
    encoded = [_encode(loaded.tokenizer, prompt) for prompt in unique]
    n_layer, n_embd = loaded.spec.n_layer, loaded.spec.n_embd
    last = np.zeros((len(unique), n_layer, n_embd), dtype=np.float32)
    mean = np.zeros_like(last)
    norm = np.zeros((len(unique), n_layer), dtype=np.float32)
    with console.progress() as bar:
        task = bar.add_task("Forward passes", total=len(unique))
        for batch in _batches(encoded, max_batch_tokens):
            outputs = _forward(loaded, [encoded[i] for i in batch])
            last[batch], mean[batch], norm[batch] = outputs
            bar.advance(task, len(batch))
    return States({prompt: i for i, prompt in enumerate(unique)}, last, mean, norm)


def _encode(tokenizer: object, prompt: str) -> tuple[list[int], list[bool]]:
    """Token ids with special tokens added, and which of them carry content."""
    encoding = tokenizer(prompt, add_special_tokens=True, return_special_tokens_mask=True)
    content = [not special for special in encoding["special_tokens_mask"]]
    if not any(content):
        raise DataError(f"prompt {prompt!r} has no content tokens")
    return encoding["input_ids"], content


def _batches(encoded: list[tuple[list[int], list[bool]]], max_tokens: int) -> Iterable[list[int]]:
    """Indices grouped longest first, so that rows x longest length <= max_tokens (>= 1 row)."""
    order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i][0]))
    batch: list[int] = []
    for i in order:
        if batch and (len(batch) + 1) * len(encoded[batch[0]][0]) > max_tokens:
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


def _forward(
    loaded: LoadedModel, rows: list[tuple[list[int], list[bool]]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left-padded forward pass; returns last-token states, content means and content norms."""
    import torch

    from surgsteer_convert.hooks import capture_outputs

    width = max(len(ids) for ids, _ in rows)
    pad = loaded.tokenizer.pad_token_id or 0
    input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    content = torch.zeros((len(rows), width), dtype=torch.float32)
    for r, (ids, keep) in enumerate(rows):
        input_ids[r, width - len(ids) :] = torch.tensor(ids)
        attention[r, width - len(ids) :] = 1
        content[r, width - len(ids) :] = torch.tensor(keep, dtype=torch.float32)
    positions = (attention.cumsum(dim=1) - 1).clamp(min=0)
    with torch.inference_mode(), capture_outputs(loaded.blocks) as captured:
        loaded.model.get_decoder()(  # the blocks only: no language-model head
            input_ids=input_ids, attention_mask=attention, position_ids=positions, use_cache=False
        )
    hidden = torch.stack([captured[i] for i in range(len(loaded.blocks))], dim=1).float()
    token_norms = hidden.norm(dim=-1)  # [b, block, seq]
    keep = content[:, None, :] * ~sinks(token_norms, content)
    weights = keep / keep.sum(dim=2, keepdim=True)  # [b, block, seq]
    mean = (hidden * weights[..., None]).sum(dim=2)
    norm = (token_norms * weights).sum(dim=2)
    return hidden[:, :, -1].numpy(), mean.numpy(), norm.numpy()


def sinks(token_norms: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Boolean [b, block, seq]: content tokens whose norm exceeds SINK_FACTOR x the median
    content-token norm of their prompt and block. Never every token of a prompt (the median
    token is never a sink)."""
    import torch

    masked = torch.where(content[:, None, :] > 0, token_norms, torch.nan)
    median = masked.nanmedian(dim=2, keepdim=True).values
    return (token_norms > SINK_FACTOR * median) & (content[:, None, :] > 0)
