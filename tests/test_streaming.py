"""The streamed path (one block in memory at a time) against transformers' whole model.

Tiny random qwen2 and gemma3 models (no downloads) are saved as safetensors and streamed; a
tiny random qwen2 GGUF (``benchmarks/synthetic_model.py``, Q8_0, the Qwen tokenizer), the
Gemma 3 270M and the SmolLM2 135M GGUFs are streamed from the GGUF and compared with
transformers' own loading of the same file. Every block's output, the steered outputs and the
logits must agree.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from benchmarks.synthetic_model import Shape, write_synthetic  # noqa: E402
from surgsteer_cli.models import resolve_model  # noqa: E402
from surgsteer_convert import loading, streaming  # noqa: E402
from surgsteer_convert.hooks import add_to_outputs, capture_outputs  # noqa: E402
from surgsteer_convert.streaming import Batch, SafetensorsTensors, StreamedModel  # noqa: E402
from tests.tiny_models import tiny_gemma3, tiny_qwen2  # noqa: E402

TOLERANCE = 1e-4
ROWS = [[5, 9, 13, 17, 21, 25, 3], [7, 2], [11, 4, 8, 30], [1, 6, 10, 14, 18]]


def _gemma3() -> transformers.PreTrainedModel:
    model = tiny_gemma3()
    with torch.no_grad():  # random norms: the all-zero init would hide a mapping error
        for name, parameter in model.named_parameters():
            if "norm" in name:
                parameter.normal_(0, 0.5)
    return model


def _batches(rows: list[list[int]]) -> list[Batch]:
    """Two left-padded batches of different widths."""
    return [Batch.left_padded(rows[:2], 0), Batch.left_padded(rows[2:], 0)]


def _whole_outputs(
    model: torch.nn.Module, batch: Batch, added: dict[int, torch.Tensor] | None = None
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Every block's output and the last position's logits of the whole model (hooks)."""
    blocks = streaming.decoder_blocks(model)
    with (
        torch.inference_mode(),
        add_to_outputs(blocks, added or {}),
        capture_outputs(blocks) as captured,
    ):
        logits = model(
            input_ids=batch.input_ids,
            attention_mask=batch.attention_mask,
            position_ids=batch.position_ids,
        ).logits[:, -1]
    return [captured[n] for n in range(len(blocks))], logits


def _streamed_outputs(
    streamed: StreamedModel, batches: list[Batch], added: dict[int, torch.Tensor] | None = None
) -> tuple[dict[tuple[int, int], torch.Tensor], list[torch.Tensor]]:
    outputs: dict[tuple[int, int], torch.Tensor] = {}

    def keep(block: int, j: int, hidden: torch.Tensor) -> None:
        outputs[block, j] = hidden.clone()

    streamed.run(batches, keep, added=added, max_resident_bytes=1)  # a group per batch
    last = streamed.n_layer - 1
    return outputs, [streamed.logits(outputs[last, j][:, -1]) for j in range(len(batches))]


def _assert_same(
    whole: torch.nn.Module,
    streamed: StreamedModel,
    batches: list[Batch],
    added: dict[int, torch.Tensor] | None = None,
) -> None:
    outputs, logits = _streamed_outputs(streamed, batches, added)
    for j, batch in enumerate(batches):
        reference, reference_logits = _whole_outputs(whole, batch, added)
        real = batch.attention_mask.bool()
        for block, expected in enumerate(reference):
            difference = (outputs[block, j][real] - expected[real]).abs().max()
            assert difference <= TOLERANCE, (block, j, float(difference))
        assert (logits[j] - reference_logits).abs().max() <= TOLERANCE * 10


@pytest.mark.parametrize("make", [tiny_qwen2, _gemma3], ids=["qwen2", "gemma3"])
def test_streamed_blocks_equal_the_whole_model(make, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(streaming, "HEAD_CHUNK_ROWS", 24)  # three LM-head chunks
    whole = make()
    whole.save_pretrained(tmp_path)
    streamed = StreamedModel(
        loading.skeleton(whole.config), SafetensorsTensors(tmp_path), torch.device("cpu")
    )
    assert all(p.device.type == "meta" for p in streamed.skeleton.parameters())
    _assert_same(whole, streamed, _batches(ROWS))
    vector = torch.randn(32, generator=torch.Generator().manual_seed(1))
    _assert_same(whole, streamed, _batches(ROWS), {1: vector})


def test_a_mismatched_tensor_is_noticed(tmp_path: Path) -> None:
    """The comparison is not vacuous: one changed weight in the file changes block 1 on."""
    whole = tiny_qwen2()
    whole.save_pretrained(tmp_path)
    with torch.no_grad():
        whole.model.layers[1].mlp.down_proj.weight.add_(0.01)
    streamed = StreamedModel(
        loading.skeleton(whole.config), SafetensorsTensors(tmp_path), torch.device("cpu")
    )
    with pytest.raises(AssertionError, match=r"^\(1, 0"):
        _assert_same(whole, streamed, _batches(ROWS))


FIXED_MTIME_NS = 1_764_979_200 * 10**9  # 2025-12-06
TINY_QWEN2 = Shape("qwen2-tiny", "tiny", 2, 64, 4, 2, 128, 151936, tied=False)


@pytest.fixture(scope="module")
def tiny_qwen2_gguf(tmp_path_factory) -> Path:
    """The same bytes and modification time every session, so that the tokenizer read from it
    is found again in the user's cache (``user_hf_metadata``)."""
    folder = tmp_path_factory.mktemp("tiny-qwen2")
    path = write_synthetic(
        folder / "tiny.gguf", TINY_QWEN2, resolve_model("qwen2.5-coder-1.5b"), "Q8_0"
    )
    os.utime(path, ns=(FIXED_MTIME_NS, FIXED_MTIME_NS))
    return path


@pytest.mark.parametrize("which", ["tiny-qwen2", "gemma3-270m", "smollm2-135m"])
@pytest.mark.usefixtures("user_hf_metadata")
def test_streamed_gguf_equals_transformers_loading_of_it(which, tiny_qwen2_gguf) -> None:
    """qwen2 (biases), gemma3 (norms stored +1) and llama (q/k rows permuted) files."""
    path = tiny_qwen2_gguf if which == "tiny-qwen2" else resolve_model(which)
    loaded = loading.load_model(path)
    whole = transformers.AutoModelForCausalLM.from_pretrained(
        path.parent, gguf_file=path.name, dtype=torch.float32, local_files_only=True
    ).eval()
    tokenize = loaded.tokenizer
    rows = [
        tokenize(text)["input_ids"]
        for text in ("The capital of France is", "서울은", "¿Cuál es la comida?", "Hi there")
    ]
    _assert_same(whole, loaded.streamed, _batches(rows))


def test_auto_device_is_the_cpu_here() -> None:
    if torch.cuda.is_available() or torch.backends.mps.is_available():
        pytest.skip("a GPU is visible")
    assert loading.resolve_device("auto") == torch.device("cpu")
    assert loading.resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(loading.SurgsteerError, match="sees no cuda device"):
        loading.resolve_device("cuda")


@pytest.mark.usefixtures("user_hf_metadata")
def test_an_hf_directory_streams_like_its_gguf(tiny_qwen2_gguf, tmp_path: Path) -> None:
    """``--model HF_DIR --gguf FILE``: the safetensors are streamed, the GGUF gives the
    identity; the same weights give the same states as streaming the GGUF itself."""
    from surgsteer_convert.activations import collect

    from_gguf = loading.load_model(tiny_qwen2_gguf)
    whole = transformers.AutoModelForCausalLM.from_pretrained(
        tiny_qwen2_gguf.parent, gguf_file=tiny_qwen2_gguf.name, dtype=torch.float32
    )
    whole.hf_quantizer = None  # dequantized: save as plain float32
    del whole.config.quantization_config
    whole.save_pretrained(tmp_path)
    from_gguf.tokenizer.save_pretrained(tmp_path)
    from_dir = loading.load_model(tmp_path, tiny_qwen2_gguf)
    assert isinstance(from_dir.streamed.tensors, SafetensorsTensors)
    assert from_dir.spec == from_gguf.spec
    prompts = ["The capital of France is", "서울은 대한민국의 수도"]
    expected, got = collect(from_gguf, prompts), collect(from_dir, prompts)
    for pool in ("last", "mean"):
        difference = np.abs(got.take(prompts, pool) - expected.take(prompts, pool)).max()
        assert difference <= TOLERANCE
