"""A tiny synthetic F16 model: a 2-block llama with random weights and a byte vocabulary, that
llama.cpp loads, quantizes and runs in well under a second. What an original (unquantized)
download looks like, for the paths that must not go through gguf-py's dequantization."""

from __future__ import annotations

from pathlib import Path

import numpy as np

N_EMBD = 256  # a multiple of 256: the K-quants' block
N_FF = 512
N_LAYER = 2
N_HEAD = 4
SPECIAL = ("<unk>", "<s>", "</s>")


def write_tiny_f16(path: Path, *, seed: int = 0) -> Path:
    """Write the model to ``path`` (``general.file_type`` F16: 2-D weights in F16, norms F32)."""
    import gguf

    rng = np.random.default_rng(seed)
    tokens = [*SPECIAL, *(f"<0x{byte:02X}>" for byte in range(256))]
    writer = gguf.GGUFWriter(path, arch="llama")
    writer.add_name("tiny synthetic")
    writer.add_basename("tiny-synthetic")
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    writer.add_context_length(512)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * len(tokens))
    writer.add_token_types(
        [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
        + [gguf.TokenType.BYTE] * 256
    )
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)

    def weight(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.05).astype(np.float16)

    writer.add_tensor("token_embd.weight", weight(len(tokens), N_EMBD))
    writer.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    for block in range(N_LAYER):
        for name, shape in (
            ("attn_q", (N_EMBD, N_EMBD)),
            ("attn_k", (N_EMBD, N_EMBD)),
            ("attn_v", (N_EMBD, N_EMBD)),
            ("attn_output", (N_EMBD, N_EMBD)),
            ("ffn_gate", (N_FF, N_EMBD)),
            ("ffn_up", (N_FF, N_EMBD)),
            ("ffn_down", (N_EMBD, N_FF)),
        ):
            writer.add_tensor(f"blk.{block}.{name}.weight", weight(*shape))
        for name in ("attn_norm", "ffn_norm"):
            writer.add_tensor(f"blk.{block}.{name}.weight", np.ones(N_EMBD, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
