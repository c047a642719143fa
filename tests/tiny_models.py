"""Tiny random transformers models (no downloads) of four architectures, seeded: 3 blocks of
width 32, a 64-token vocabulary."""

from __future__ import annotations

import torch
import transformers

N_LAYER, HIDDEN = 3, 32
_COMMON = dict(vocab_size=64, hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=N_LAYER)


def _seeded(model_class: type, config: object) -> torch.nn.Module:
    torch.manual_seed(0)
    return model_class(config).eval()


def tiny_llama() -> torch.nn.Module:
    config = transformers.LlamaConfig(**_COMMON, num_attention_heads=4, num_key_value_heads=2)
    return _seeded(transformers.LlamaForCausalLM, config)


def tiny_qwen2() -> torch.nn.Module:
    config = transformers.Qwen2Config(
        **_COMMON, num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False
    )
    return _seeded(transformers.Qwen2ForCausalLM, config)


def tiny_gemma3() -> torch.nn.Module:
    config = transformers.Gemma3TextConfig(
        **_COMMON, num_attention_heads=4, num_key_value_heads=1, head_dim=8, sliding_window=4
    )
    return _seeded(transformers.Gemma3ForCausalLM, config)


def tiny_gpt2() -> torch.nn.Module:
    config = transformers.GPT2Config(vocab_size=64, n_embd=HIDDEN, n_layer=N_LAYER, n_head=4)
    return _seeded(transformers.GPT2LMHeadModel, config)
