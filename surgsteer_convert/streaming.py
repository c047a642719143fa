"""Run a causal LM through PyTorch one decoder block at a time: memory holds one block.

The model's skeleton is transformers' own classes (built from the config transformers derives
from the GGUF metadata, or read from an HF directory) with every parameter on the meta device.
For each block, its tensors are read from the checkpoint (a memory-mapped GGUF, dequantized by
gguf-py and named as transformers' GGUF loader names them; or an HF directory's safetensors),
every batch goes through the block, and the block is freed. The attention masks and rotary
position embeddings a block receives are computed once per batch by the decoder's own forward,
run over recording stand-ins of its blocks. Token embeddings are read for the batch's tokens
only, and the final norm and LM head (in vocabulary chunks) only for logits.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import gc
import mmap
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from surgsteer_cli.errors import ModelLoadError
from surgsteer_cli.grouping import within_budget

if TYPE_CHECKING:
    import gguf

DEFAULT_RESIDENT_BYTES = 1 << 30
"""Residual streams kept at once (float32 [batch, seq, n_embd] of every batch in a group); the
blocks are streamed once per group."""
HEAD_CHUNK_ROWS = 16384
"""Vocabulary rows of the LM head dequantized at a time."""


@dataclass(frozen=True)
class Batch:
    """Left-padded token ids [rows, width] and their attention mask (1 = token, 0 = pad)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor

    @property
    def position_ids(self) -> torch.Tensor:
        """Positions counted from each row's first real token (pads get 0)."""
        return (self.attention_mask.cumsum(dim=1) - 1).clamp(min=0)

    @classmethod
    def left_padded(cls, rows: Sequence[Sequence[int]], pad: int) -> Batch:
        """A batch of ``rows`` padded on the left with ``pad`` to the longest row."""
        width = max(len(row) for row in rows)
        input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for r, row in enumerate(rows):
            input_ids[r, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            attention[r, width - len(row) :] = 1
        return cls(input_ids, attention)


class GGUFTensors:
    """A GGUF's tensors under Hugging Face names, dequantized to float32 when read.

    The file is memory-mapped; the pages of a tensor are released once it is dequantized, so
    the file does not accumulate in memory as the blocks go by.
    """

    def __init__(
        self, path: Path, reader: gguf.GGUFReader, skeleton: nn.Module, config: dict[str, object]
    ) -> None:
        from transformers.modeling_gguf_pytorch_utils import (
            TENSOR_PROCESSORS,
            TensorProcessor,
            get_gguf_hf_weights_map,
        )

        architecture = str(reader.fields["general.architecture"].contents())
        self._processor = TENSOR_PROCESSORS.get(architecture, TensorProcessor)(config=config)
        hf_names = get_gguf_hf_weights_map(skeleton, self._processor)
        self._tensors = {hf_names[t.name]: t for t in reader.tensors if t.name in hf_names}
        with path.open("rb") as handle:
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)

    def __contains__(self, name: str) -> bool:
        return name in self._tensors

    def get(self, name: str) -> torch.Tensor:
        """The whole tensor ``name``."""
        return self._read(name, slice(None))

    def rows(self, name: str, rows: np.ndarray | slice) -> torch.Tensor:
        """Rows ``rows`` (first dimension, as Hugging Face orders it) of tensor ``name``."""
        return self._read(name, rows)

    def _read(self, name: str, rows: np.ndarray | slice) -> torch.Tensor:
        import gguf

        tensor = self._tensor(name)
        raw = np.frombuffer(
            self._map, dtype=tensor.data.dtype, count=tensor.data.size, offset=tensor.data_offset
        ).reshape(tensor.data.shape)
        try:
            weights = gguf.quants.dequantize(raw[rows], tensor.tensor_type)
            weights = self._processor.process(weights=weights, name=tensor.name).weights
            weights = np.array(weights, dtype=np.float32)  # a copy: never a view of the file
        finally:
            self._release(tensor.data_offset, tensor.n_bytes)
        return torch.from_numpy(weights)

    def _tensor(self, name: str) -> object:
        try:
            return self._tensors[name]
        except KeyError:
            raise ModelLoadError(f"the GGUF has no tensor for {name}") from None

    def _release(self, offset: int, size: int) -> None:
        """Drop the file's pages in [offset, offset + size) from this process."""
        start = offset - offset % mmap.PAGESIZE
        self._map.madvise(mmap.MADV_DONTNEED, start, offset + size - start)


class SafetensorsTensors:
    """The tensors of a Hugging Face model directory's ``*.safetensors`` files."""

    def __init__(self, directory: Path) -> None:
        from safetensors import safe_open

        files = sorted(directory.glob("*.safetensors"))
        if not files:
            raise ModelLoadError(f"{directory} has no *.safetensors weights")
        self._where: dict[str, Path] = {}
        for file in files:
            with safe_open(file, framework="pt") as handle:
                self._where.update(dict.fromkeys(handle.keys(), file))

    def __contains__(self, name: str) -> bool:
        return name in self._where

    def get(self, name: str) -> torch.Tensor:
        """The whole tensor ``name``, as float32."""
        from safetensors import safe_open

        if name not in self._where:
            raise ModelLoadError(f"the checkpoint has no tensor {name}")
        with safe_open(self._where[name], framework="pt") as handle:
            return handle.get_tensor(name).float()

    def rows(self, name: str, rows: np.ndarray | slice) -> torch.Tensor:
        """Rows ``rows`` of tensor ``name``."""
        return self.get(name)[rows]


Tensors = GGUFTensors | SafetensorsTensors


class _Recorded(Exception):
    """Raised by the last recording stand-in: the block inputs are known, stop the forward."""


class _Recorder(nn.Module):
    """Stands in for a decoder block: keeps the keyword arguments the decoder passes it."""

    def __init__(self, into: list[dict[str, object]], last: bool) -> None:
        super().__init__()
        self.into, self.last = into, last

    def forward(self, hidden: torch.Tensor, **kwargs: object) -> torch.Tensor:
        self.into.append(kwargs)
        if self.last:
            raise _Recorded
        return hidden


class StreamedModel:
    """A causal LM whose blocks are materialized one at a time (module docstring)."""

    def __init__(self, skeleton: nn.Module, tensors: Tensors, device: torch.device) -> None:
        self.skeleton = skeleton.eval()
        self.config = skeleton.config.get_text_config()
        self.decoder = skeleton.get_decoder()
        self.tensors = tensors
        self.device = device
        self._names = {id(module): name for name, module in skeleton.named_modules()}
        self.blocks = decoder_blocks(skeleton)
        self._blocks_attr = next(
            name for name, child in self.decoder.named_children() if child is self.blocks
        )

    @property
    def n_layer(self) -> int:
        """Number of decoder blocks."""
        return len(self.blocks)

    def run(
        self,
        batches: Sequence[Batch],
        visit: Callable[[int, int, torch.Tensor], None],
        *,
        added: Mapping[int, torch.Tensor] | None = None,
        max_resident_bytes: int = DEFAULT_RESIDENT_BYTES,
    ) -> None:
        """Pass every batch through every block; ``visit(block, batch index, output)`` sees
        each block's output (on the device), ``added[N]`` is added to block N's output first."""
        added = {n: vector.to(self.device) for n, vector in (added or {}).items()}
        with torch.inference_mode():
            # each batch's float32 residual stream, kept for every batch of a group
            resident = [batch.input_ids.numel() * self.config.hidden_size * 4 for batch in batches]
            for group in within_budget(resident, max_resident_bytes):
                hidden = {j: self._embed(batches[j]) for j in group}
                inputs = {j: self._block_inputs(batches[j]) for j in group}
                for n in range(self.n_layer):
                    block = self._block(n)
                    for j in group:
                        output = block(hidden[j], **inputs[j][n])
                        output = output[0] if isinstance(output, tuple) else output
                        if n in added:
                            output = output + added[n]
                        hidden[j] = output
                        visit(n, j, output)
                    del block

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Final norm and LM head on states [..., n_embd], the head read in vocabulary chunks."""
        head_name = self._name(self.skeleton.get_output_embeddings()) + ".weight"
        if head_name not in self.tensors:  # tied to the token embeddings
            head_name = self._name(self.skeleton.get_input_embeddings()) + ".weight"
        with torch.inference_mode():
            states = self._materialize(self.decoder.norm)(hidden.to(self.device))
            chunks = []
            for start in range(0, self.config.vocab_size, HEAD_CHUNK_ROWS):
                rows = slice(start, min(start + HEAD_CHUNK_ROWS, self.config.vocab_size))
                weight = self.tensors.rows(head_name, rows).to(self.device)
                chunks.append(states @ weight.T)
            logits = torch.cat(chunks, dim=-1)
        cap = getattr(self.config, "final_logit_softcapping", None)
        return torch.tanh(logits / cap) * cap if cap else logits

    def _embed(self, batch: Batch) -> torch.Tensor:
        """Token embeddings of the batch, reading only the rows of its distinct tokens."""
        embedding = self.skeleton.get_input_embeddings()
        tokens, index = torch.unique(batch.input_ids, return_inverse=True)
        table = copy.deepcopy(embedding)
        table.padding_idx = None  # ids are re-indexed into the rows read
        weight = self.tensors.rows(self._name(embedding) + ".weight", tokens.numpy())
        table.weight = nn.Parameter(weight, requires_grad=False)
        return table.to(self.device)(index.to(self.device))

    def _block_inputs(self, batch: Batch) -> list[dict[str, object]]:
        """The keyword arguments the decoder's forward gives each block for this batch."""
        recorded: list[dict[str, object]] = []
        real = getattr(self.decoder, self._blocks_attr)
        stand_ins = [_Recorder(recorded, n == self.n_layer - 1) for n in range(self.n_layer)]
        setattr(self.decoder, self._blocks_attr, nn.ModuleList(stand_ins))
        rows, width = batch.input_ids.shape
        shape_only = torch.zeros(1, 1, 1).expand(rows, width, self.config.hidden_size)
        try:
            self.decoder(
                inputs_embeds=shape_only,
                attention_mask=batch.attention_mask,
                position_ids=batch.position_ids,
                use_cache=False,
            )
        except _Recorded:
            pass
        finally:
            setattr(self.decoder, self._blocks_attr, real)
        return [{key: _to(value, self.device) for key, value in kw.items()} for kw in recorded]

    def _block(self, n: int) -> nn.Module:
        """Block ``n`` with its weights read, on the device."""
        return self._materialize(self.blocks[n])

    def _materialize(self, module: nn.Module) -> nn.Module:
        """A copy of skeleton ``module`` holding its checkpoint tensors, on the device."""
        prefix = self._name(module) + "."
        real = copy.deepcopy(module)
        state = {name: self.tensors.get(prefix + name) for name in real.state_dict()}
        real.load_state_dict(state, assign=True, strict=True)
        return real.to(self.device)

    def _name(self, module: nn.Module) -> str:
        return self._names[id(module)]


def return_freed_memory() -> None:
    """Hand the heap that the streamed blocks freed back to the OS (glibc keeps it for reuse
    otherwise), so a phase that follows, such as llama.cpp's held-out check, does not add its
    memory on top of the streaming's."""
    gc.collect()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # not glibc (e.g. musl)
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def decoder_blocks(model: nn.Module) -> nn.ModuleList:
    """The decoder blocks: the one ModuleList as long as the text config's layer count."""
    count = model.config.get_text_config().num_hidden_layers
    found = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.ModuleList) and len(module) == count
    ]
    if len(found) != 1:
        names = ", ".join(name for name, _ in found) or "none"
        raise ModelLoadError(
            f"cannot tell which module list holds the {count} decoder blocks ({names})"
        )
    return found[0][1]


def _to(value: object, device: torch.device) -> object:
    """``value`` with every tensor in it (also inside tuples, lists, dicts) on ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, tuple | list):
        return type(value)(_to(item, device) for item in value)
    if isinstance(value, dict):
        return {key: _to(item, device) for key, item in value.items()}
    return value
