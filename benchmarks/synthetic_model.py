"""Write a qwen2 GGUF of a real model's shapes with RANDOM weights: for measuring cost only.

No GGUF larger than Qwen2.5-Coder-1.5B is installable here, so the time and memory of
extraction on 3B and 7B models are measured on files of their exact shapes: the architecture,
block count, widths, head counts, FFN width and vocabulary of Qwen2.5-7B / -3B, the tokenizer
metadata copied from the installed Qwen2.5-Coder-1.5B GGUF (padded to the vocabulary with
unused tokens, as the real 7B file is), and weights drawn at random directly in a llama.cpp
quantization (Q4_0 or Q8_0: a random scale-free payload under one fixed block scale). The
file's name, ``general.name`` and ``general.description`` say that the weights are random; its
answers are noise and its vectors mean nothing.

    python -m benchmarks.synthetic_model --shape qwen2-7b --out /tmp/synthetic-qwen2-7b.gguf
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from surgsteer_cli.models import resolve_model

WEIGHT_STD = 0.02
"""Standard deviation of the random weights (a usual initialization scale)."""
LABEL = "RANDOM WEIGHTS, for cost measurements only"


@dataclass(frozen=True)
class Shape:
    """A qwen2 model's shapes."""

    name: str
    size_label: str
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    n_ff: int
    n_vocab: int
    tied: bool  # no output.weight: the LM head is the token embedding

    @property
    def parameters(self) -> int:
        """Number of weights."""
        head_dim = self.n_embd // self.n_head
        kv = self.n_head_kv * head_dim
        block = 2 * self.n_embd * self.n_embd + 2 * self.n_embd * kv + 3 * self.n_embd * self.n_ff
        embeddings = self.n_vocab * self.n_embd * (1 if self.tied else 2)
        return self.n_layer * block + embeddings


SHAPES = {
    shape.name: shape
    for shape in (
        # Qwen2.5-7B(-Instruct): config.json of the released model
        Shape("qwen2-7b", "7B", 28, 3584, 28, 4, 18944, 152064, tied=False),
        # Qwen2.5-3B(-Instruct)
        Shape("qwen2-3b", "3B", 36, 2048, 16, 2, 11008, 151936, tied=True),
    )
}


def write_synthetic(
    path: Path,
    shape: Shape,
    tokenizer_gguf: Path,
    qtype_name: str = "Q4_0",
    seed: int = 0,
) -> Path:
    """Write ``shape`` with random ``qtype_name`` weights and ``tokenizer_gguf``'s tokenizer."""
    import gguf

    qtype = gguf.GGMLQuantizationType[qtype_name]
    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(path, "qwen2")
    writer.add_name(f"synthetic-{shape.name} ({LABEL})")
    writer.add_description(f"{LABEL}: qwen2 shapes of a {shape.size_label} model, not a model")
    writer.add_basename(f"synthetic-{shape.name}")
    writer.add_size_label(shape.size_label)
    writer.add_block_count(shape.n_layer)
    writer.add_context_length(32768)
    writer.add_embedding_length(shape.n_embd)
    writer.add_feed_forward_length(shape.n_ff)
    writer.add_head_count(shape.n_head)
    writer.add_head_count_kv(shape.n_head_kv)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_file_type(
        {"Q4_0": gguf.LlamaFileType.MOSTLY_Q4_0, "Q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[qtype_name]
    )
    _copy_tokenizer(writer, tokenizer_gguf, shape.n_vocab)
    tensors = list(_tensors(shape))
    for name, rows, cols, quantized in tensors:
        if quantized:
            byte_shape = gguf.quant_shape_to_byte_shape((rows, cols), qtype)
            writer.add_tensor_info(
                name, byte_shape, np.dtype(np.uint8), int(np.prod(byte_shape)), qtype
            )
        else:
            writer.add_tensor_info(name, (cols,), np.dtype(np.float32), cols * 4)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for _name, rows, cols, quantized in tensors:
        if quantized:
            writer.write_tensor_data(_random_quantized(rng, rows, cols, qtype))
        elif _name.endswith("norm.weight"):
            writer.write_tensor_data(np.ones(cols, dtype=np.float32))
        else:  # attention biases
            writer.write_tensor_data(rng.normal(0, WEIGHT_STD, cols).astype(np.float32))
    writer.close()
    return path


def _tensors(shape: Shape) -> list[tuple[str, int, int, bool]]:
    """(GGUF name, rows, columns, quantized) of every tensor, in file order; 1-D tensors have
    one row."""
    kv = shape.n_head_kv * (shape.n_embd // shape.n_head)
    tensors = [("token_embd.weight", shape.n_vocab, shape.n_embd, True)]
    for n in range(shape.n_layer):
        block = f"blk.{n}."
        tensors += [
            (block + "attn_norm.weight", 1, shape.n_embd, False),
            (block + "attn_q.weight", shape.n_embd, shape.n_embd, True),
            (block + "attn_q.bias", 1, shape.n_embd, False),
            (block + "attn_k.weight", kv, shape.n_embd, True),
            (block + "attn_k.bias", 1, kv, False),
            (block + "attn_v.weight", kv, shape.n_embd, True),
            (block + "attn_v.bias", 1, kv, False),
            (block + "attn_output.weight", shape.n_embd, shape.n_embd, True),
            (block + "ffn_norm.weight", 1, shape.n_embd, False),
            (block + "ffn_gate.weight", shape.n_ff, shape.n_embd, True),
            (block + "ffn_up.weight", shape.n_ff, shape.n_embd, True),
            (block + "ffn_down.weight", shape.n_embd, shape.n_ff, True),
        ]
    tensors.append(("output_norm.weight", 1, shape.n_embd, False))
    if not shape.tied:
        tensors.append(("output.weight", shape.n_vocab, shape.n_embd, True))
    return tensors


def _random_quantized(rng: np.random.Generator, rows: int, cols: int, qtype: object) -> np.ndarray:
    """Random quantized blocks [rows, bytes per row]: zero-mean quants (Q4_0: nibbles 1..15,
    i.e. -7..7; Q8_0: -127..127; the full range would give every weight the same -0.5 offset,
    a rank-one part that grows the residual stream block after block) under one block scale
    that makes the weights' standard deviation WEIGHT_STD."""
    import gguf

    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    shape = (rows, cols // block_size)
    if qtype == gguf.GGMLQuantizationType.Q4_0:
        low, high = (
            rng.integers(1, 16, size=(*shape, block_size // 2), dtype=np.uint8) for _ in "lh"
        )
        quants, spread = low | (high << 4), 4.32  # std of -7..7
    else:
        quants = rng.integers(-127, 128, size=(*shape, block_size), dtype=np.int8).view(np.uint8)
        spread = 73.6  # std of -127..127
    scale = np.array([WEIGHT_STD / spread], dtype=np.float16).view(np.uint8)
    blocks = np.concatenate([np.broadcast_to(scale, (*shape, 2)), quants], axis=-1)
    assert blocks.shape[-1] == type_size
    return blocks.reshape(rows, -1)


def _copy_tokenizer(writer: object, source: Path, n_vocab: int) -> None:
    """Copy every ``tokenizer.*`` key of ``source``; pad the token list to ``n_vocab``."""
    import gguf

    reader = gguf.GGUFReader(source, "r")
    for key, field in reader.fields.items():
        if not key.startswith("tokenizer."):
            continue
        value = field.contents()
        if key == "tokenizer.ggml.tokens":
            value = value + [f"[PAD{i}]" for i in range(len(value), n_vocab)]
        elif key == "tokenizer.ggml.token_type":
            unused = int(gguf.TokenType.UNUSED)
            value = value + [unused] * (n_vocab - len(value))
        sub_type = field.types[1] if len(field.types) > 1 else None
        writer.add_key_value(key, value, field.types[0], sub_type)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--type", choices=("Q4_0", "Q8_0"), default="Q4_0")
    args = parser.parse_args()
    shape = SHAPES[args.shape]
    path = write_synthetic(args.out, shape, resolve_model("qwen2.5-coder-1.5b"), args.type)
    print(
        f"wrote {path}: {shape.name} ({LABEL}), {shape.parameters / 1e9:.2f} B weights in "
        f"{args.type}, {path.stat().st_size / 1024**3:.2f} GiB"
    )


if __name__ == "__main__":
    main()
