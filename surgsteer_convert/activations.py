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
    """Block outputs per prompt: ``pooled[pool]`` is [prompt, block, n_embd] float32.

    Pool ``last`` is the state at the final token; ``mean`` averages the prompt's content
    tokens (special tokens such as BOS and attention sinks, see :data:`SINK_FACTOR`, whose
    states are huge and nearly identical across prompts, are left out); ``norm``
    [prompt, block] is the mean L2 norm of the same tokens' states.
    """

    index: dict[str, int]
    pooled: dict[str, np.ndarray]
    norm: np.ndarray

    def take(self, prompts: Sequence[str], pool: str) -> np.ndarray:
        """States of ``prompts`` (in that order) pooled as ``pool`` ("mean" or "last")."""
        if pool not in self.pooled:
            raise ValueError(f"states were collected for {', '.join(self.pooled)}, not {pool}")
        return self.pooled[pool][[self.index[prompt] for prompt in prompts]]

    def norms(self, prompts: Sequence[str]) -> np.ndarray:
        """Per-token state norms [prompt, block] of ``prompts``."""
        return self.norm[[self.index[prompt] for prompt in prompts]]


def collect(
    loaded: LoadedModel,
    prompts: Iterable[str],
    *,
    pools: Sequence[str] = POOLS,
    max_batch_tokens: int = DEFAULT_BATCH_TOKENS,
) -> States:
    """Run every distinct prompt through the model, which streams its blocks once for all the
    batches, and keep its states pooled as ``pools`` say (each costs prompts x blocks x n_embd
    floats); a batch holds at most ``max_batch_tokens`` (padded) tokens."""
    from surgsteer_convert.streaming import Batch

    unique = list(dict.fromkeys(prompts))
    encoded = [_encode(loaded.tokenizer, prompt) for prompt in unique]
    n_layer, n_embd = loaded.spec.n_layer, loaded.spec.n_embd
    pooled = {pool: np.zeros((len(unique), n_layer, n_embd), dtype=np.float32) for pool in pools}
    norm = np.zeros((len(unique), n_layer), dtype=np.float32)
    groups = list(_batches(encoded, max_batch_tokens))
    pad = loaded.tokenizer.pad_token_id or 0
    batches = [Batch.left_padded([encoded[i][0] for i in group], pad) for group in groups]
    content = [_content([encoded[i][1] for i in group]) for group in groups]

    with console.progress() as bar:
        task = bar.add_task("Forward passes, block by block", total=n_layer * len(groups))

        def pool(block: int, j: int, hidden: torch.Tensor) -> None:
            rows = groups[j]
            states, norm[rows, block] = _pool(hidden.float(), content[j].to(hidden.device))
            for name, array in pooled.items():
                array[rows, block] = states[name]
            bar.advance(task)

        loaded.streamed.run(batches, pool)
    return States({prompt: i for i, prompt in enumerate(unique)}, pooled, norm)


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


def _content(keeps: list[list[bool]]) -> torch.Tensor:
    """[rows, width] float mask of content tokens, left-padded like ``Batch.left_padded``."""
    import torch

    width = max(len(keep) for keep in keeps)
    content = torch.zeros((len(keeps), width), dtype=torch.float32)
    for r, keep in enumerate(keeps):
        content[r, width - len(keep) :] = torch.tensor(keep, dtype=torch.float32)
    return content


def _pool(hidden: torch.Tensor, content: torch.Tensor) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One block's outputs [rows, seq, d]: its states pooled each way, and content norms."""
    token_norms = hidden.norm(dim=-1)[:, None, :]  # [rows, 1 block, seq]
    keep = content[:, None, :] * ~sinks(token_norms, content)
    weights = (keep / keep.sum(dim=2, keepdim=True))[:, 0]  # [rows, seq]
    mean = (hidden * weights[..., None]).sum(dim=1)
    norm = (token_norms[:, 0] * weights).sum(dim=1)
    return {"last": hidden[:, -1].cpu().numpy(), "mean": mean.cpu().numpy()}, norm.cpu().numpy()


def sinks(token_norms: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Boolean [b, block, seq]: content tokens whose norm exceeds SINK_FACTOR x the median
    content-token norm of their prompt and block. Never every token of a prompt (the median
    token is never a sink)."""
    import torch

    masked = torch.where(content[:, None, :] > 0, token_norms, torch.nan)
    median = masked.nanmedian(dim=2, keepdim=True).values
    return (token_norms > SINK_FACTOR * median) & (content[:, None, :] > 0)
