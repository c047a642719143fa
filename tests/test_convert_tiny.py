"""Hook semantics on tiny random models (no downloads).

"The state after block N" is what block N + 1 receives; it is read here with a forward
pre-hook on block N + 1, independent of the hooks under test. (transformers records
``hidden_states`` with its own hooks, which may run before ours, so the steered
``hidden_states`` list is not a reliable witness.)
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from surgsteer_convert.hooks import add_to_outputs, capture_outputs  # noqa: E402
from surgsteer_convert.streaming import decoder_blocks  # noqa: E402
from tests.tiny_models import HIDDEN, N_LAYER, tiny_gemma3, tiny_gpt2, tiny_llama  # noqa: E402

MODELS = {"llama": tiny_llama, "gemma3": tiny_gemma3, "gpt2": tiny_gpt2}
IDS = torch.tensor([[1, 5, 9, 13, 17, 21, 25, 3]])


def _hidden_states(model: torch.nn.Module) -> tuple[torch.Tensor, ...]:
    with torch.inference_mode():
        return model(IDS, output_hidden_states=True).hidden_states


def _block_inputs(model: torch.nn.Module) -> list[torch.Tensor]:
    """The residual stream entering each block, in one forward pass."""
    seen: list[torch.Tensor] = []

    def hook(_module, args, kwargs) -> None:
        seen.append((args[0] if args else kwargs["hidden_states"]).clone())

    handles = [
        block.register_forward_pre_hook(hook, with_kwargs=True) for block in decoder_blocks(model)
    ]
    try:
        with torch.inference_mode():
            model(IDS)
    finally:
        for handle in handles:
            handle.remove()
    return seen


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_decoder_blocks_found_by_layer_count(make) -> None:
    model = make()
    blocks = decoder_blocks(model)
    assert len(blocks) == N_LAYER
    assert all(isinstance(block, torch.nn.Module) for block in blocks)


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_captured_output_of_block_n_is_hidden_state_n_plus_1(make) -> None:
    model = make()
    reference = _hidden_states(model)
    inputs = _block_inputs(model)
    with capture_outputs(decoder_blocks(model)) as captured:
        _hidden_states(model)
    for block in range(N_LAYER - 1):  # the last hidden state has the final norm applied
        torch.testing.assert_close(captured[block], reference[block + 1], rtol=0, atol=0)
        torch.testing.assert_close(captured[block], inputs[block + 1], rtol=0, atol=0)


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
@pytest.mark.parametrize("block", range(N_LAYER - 1))
def test_steered_state_after_block_n_is_original_plus_vector(make, block: int) -> None:
    model = make()
    original = _block_inputs(model)
    vector = torch.randn(HIDDEN, generator=torch.Generator().manual_seed(block))
    with add_to_outputs(decoder_blocks(model), {block: vector}):
        steered = _block_inputs(model)
    torch.testing.assert_close(steered[block + 1], original[block + 1] + vector)
    for earlier in range(block + 1):
        torch.testing.assert_close(steered[earlier], original[earlier], rtol=0, atol=0)
    if block + 2 < N_LAYER:
        assert not torch.allclose(steered[block + 2], original[block + 2] + vector)


def test_hooks_are_removed_after_the_context_even_on_error() -> None:
    model = tiny_llama()
    blocks = decoder_blocks(model)
    original = _block_inputs(model)
    hooks_before = [len(block._forward_hooks) for block in blocks]
    with pytest.raises(RuntimeError), add_to_outputs(blocks, {1: torch.ones(HIDDEN)}):
        raise RuntimeError("boom")
    with capture_outputs(blocks):
        pass
    after = _block_inputs(model)
    for before, now in zip(original, after, strict=True):
        torch.testing.assert_close(now, before, rtol=0, atol=0)
    assert [len(block._forward_hooks) for block in blocks] == hooks_before


def test_steering_a_block_that_does_not_exist_is_refused() -> None:
    model = tiny_llama()
    with (
        pytest.raises(IndexError),
        add_to_outputs(decoder_blocks(model), {N_LAYER: torch.ones(HIDDEN)}),
    ):
        pass
