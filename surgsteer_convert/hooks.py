"""Forward hooks on decoder blocks: read block outputs, or add a vector to them.

Block N's output is the residual stream after block N (Hugging Face ``hidden_states[N + 1]``),
the place where llama.cpp adds ``direction.N`` of a control vector.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import torch
from torch import nn


def _hidden(output: object) -> torch.Tensor:
    """The residual tensor of a block's output (a tensor, or the first item of a tuple)."""
    return output[0] if isinstance(output, tuple) else output


def _replace_hidden(output: object, hidden: torch.Tensor) -> object:
    return (hidden, *output[1:]) if isinstance(output, tuple) else hidden


@contextmanager
def capture_outputs(blocks: nn.ModuleList) -> Iterator[dict[int, torch.Tensor]]:
    """Yield a dict that each forward pass fills with ``{block index: output [batch, seq, d]}``."""
    captured: dict[int, torch.Tensor] = {}

    def hook_for(index: int):
        def hook(_module: nn.Module, _args: object, output: object) -> None:
            captured[index] = _hidden(output).detach()

        return hook

    handles = [block.register_forward_hook(hook_for(i)) for i, block in enumerate(blocks)]
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def add_to_outputs(blocks: nn.ModuleList, vectors: Mapping[int, torch.Tensor]) -> Iterator[None]:
    """Add ``vectors[N]`` to the output of block N at every position while the context is open."""
    for index in vectors:
        if not 0 <= index < len(blocks):
            raise IndexError(f"block {index} is outside 0..{len(blocks) - 1}")

    def hook_for(vector: torch.Tensor):
        def hook(_module: nn.Module, _args: object, output: object) -> object:
            hidden = _hidden(output)
            return _replace_hidden(output, hidden + vector.to(hidden.dtype))

        return hook

    handles = [blocks[i].register_forward_hook(hook_for(v)) for i, v in vectors.items()]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
