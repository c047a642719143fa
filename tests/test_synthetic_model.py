"""The synthetic models of real shapes (``benchmarks/synthetic_model.py``) that stand in for
7B-class GGUFs in the extraction benchmark: labelled as random, with weights whose mean is
zero (a common offset is a rank-one part in every matrix that grows the residual stream
block after block until the vectors' norms are refused as absurd)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")

from benchmarks.synthetic_model import (  # noqa: E402
    LABEL,
    WEIGHT_STD,
    Shape,
    _random_quantized,
    write_synthetic,
)
from surgsteer_cli.models import resolve_model  # noqa: E402

SMALL = Shape("qwen2-small", "small", 2, 256, 4, 2, 512, 151936, tied=False)


def _assert_zero_mean(values: np.ndarray) -> None:
    assert abs(values.mean()) < 0.01 * values.std()  # the full quant range gives 0.11 (Q4_0)
    assert values.std() == pytest.approx(WEIGHT_STD, rel=0.02)


def test_the_file_is_labelled_random_and_its_weights_are_zero_mean(tmp_path: Path) -> None:
    path = write_synthetic(tmp_path / "s.gguf", SMALL, resolve_model("qwen2.5-coder-1.5b"))
    reader = gguf.GGUFReader(path)
    assert LABEL in str(reader.fields["general.description"].contents())
    weights = [t for t in reader.tensors if t.tensor_type.name == "Q4_0"]
    assert {t.name for t in weights} >= {"token_embd.weight", "blk.1.ffn_down.weight"}
    _assert_zero_mean(
        np.concatenate([gguf.quants.dequantize(t.data, t.tensor_type).ravel() for t in weights])
    )


def test_q8_0_weights_are_zero_mean() -> None:
    qtype = gguf.GGMLQuantizationType.Q8_0
    blocks = _random_quantized(np.random.default_rng(0), 512, 1024, qtype)
    _assert_zero_mean(gguf.quants.dequantize(blocks, qtype))
