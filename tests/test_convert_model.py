"""The default test model streamed through PyTorch: padding-free batching, and parity with
llama.cpp (steering in PyTorch and in llama.cpp; the held-out scale check runs in llama.cpp).

The tokenizer transformers derives from the GGUF is cached (``paths.cache_dir()/hf-metadata``);
the first run reads it (~1 min).
"""

from __future__ import annotations

import ctypes
import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
llama_cpp = pytest.importorskip("llama_cpp")

from surgsteer_cli.cli import main  # noqa: E402
from surgsteer_cli.models import resolve_model  # noqa: E402
from surgsteer_cli.vector_file import SteeringVector, read  # noqa: E402
from surgsteer_convert.activations import collect  # noqa: E402
from surgsteer_convert.contrasts import ExtractionData, load_extraction_data  # noqa: E402
from surgsteer_convert.directions import measure  # noqa: E402
from surgsteer_convert.extract import build_vectors, write_vectors  # noqa: E402
from surgsteer_convert.loading import LoadedModel, load_model  # noqa: E402
from surgsteer_convert.streaming import Batch  # noqa: E402

PROMPTS = [
    "The capital of France is",
    "서울은 대한민국의 수도이며, 가장 큰 도시입니다. 한국의 긴급 전화번호는",
    "¿Cuál es la comida más popular para acompañar la cerveza en España?",
    "Hi",
    "Ο Μιχαήλ Άγγελος πέθανε στη Ρώμη.",
]


@pytest.fixture(scope="module")
def loaded() -> LoadedModel:
    return load_model("gemma3-270m")


@pytest.fixture(scope="module")
def llm():
    model = llama_cpp.Llama(
        model_path=str(resolve_model("gemma3-270m")),
        n_ctx=256,
        n_threads=2,
        logits_all=True,
        verbose=False,
    )
    yield model
    model.close()


def test_loaded_default_model_matches_its_gguf(loaded: LoadedModel) -> None:
    assert loaded.spec.architecture == "gemma3"
    assert (loaded.spec.n_layer, loaded.spec.n_embd) == (loaded.streamed.n_layer, 640)
    assert loaded.model_id == "gemma3-270m"
    assert loaded.device == "cpu"
    assert all(p.device.type == "meta" for p in loaded.streamed.skeleton.parameters())


def test_batched_states_equal_unbatched(loaded: LoadedModel) -> None:
    batched = collect(loaded, PROMPTS, max_batch_tokens=4096)
    for prompt in PROMPTS:
        alone = collect(loaded, [prompt], max_batch_tokens=1)
        for pool in ("last", "mean"):
            expected, got = alone.take([prompt], pool), batched.take([prompt], pool)
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
        np.testing.assert_allclose(batched.norms([prompt]), alone.norms([prompt]), rtol=1e-4)


def test_only_the_poolings_asked_for_are_kept(loaded: LoadedModel) -> None:
    both = collect(loaded, PROMPTS[:1])
    mean = collect(loaded, PROMPTS[:1], pools=["mean"])
    assert list(mean.pooled) == ["mean"]
    np.testing.assert_array_equal(mean.take(PROMPTS[:1], "mean"), both.take(PROMPTS[:1], "mean"))
    with pytest.raises(ValueError, match="collected for mean, not last"):
        mean.take(PROMPTS[:1], "last")


def test_states_are_block_outputs_without_special_tokens(loaded: LoadedModel) -> None:
    prompt = PROMPTS[0]
    states = collect(loaded, [prompt])
    ids = torch.tensor([loaded.tokenizer(prompt)["input_ids"]])
    captured = {}
    loaded.streamed.run(
        [Batch(ids, torch.ones_like(ids))], lambda n, _j, out: captured.update({n: out[0]})
    )
    outputs = torch.stack([captured[n] for n in range(loaded.spec.n_layer)]).numpy()
    assert loaded.tokenizer.convert_ids_to_tokens(int(ids[0, 0])) == "<bos>"
    content = outputs[:, 1:]  # BOS excluded
    np.testing.assert_allclose(
        states.take([prompt], "last")[0], outputs[:, -1], rtol=1e-4, atol=1e-2
    )
    np.testing.assert_allclose(
        states.take([prompt], "mean")[0], content.mean(axis=1), rtol=1e-4, atol=1e-2
    )
    np.testing.assert_allclose(
        states.norms([prompt])[0], np.linalg.norm(content, axis=-1).mean(axis=1), rtol=1e-4
    )


def _torch_logits(
    loaded: LoadedModel, tokens: list[int], steer: dict[int, np.ndarray]
) -> np.ndarray:
    vectors = {n: torch.from_numpy(v) for n, v in steer.items()}
    ids = torch.tensor([tokens])
    final = {}
    loaded.streamed.run(
        [Batch(ids, torch.ones_like(ids))],
        lambda _n, _j, out: final.update(state=out[0, -1]),
        added=vectors,
    )
    return loaded.streamed.logits(final["state"]).numpy().astype(np.float64)


def _llama_logits(llm, tokens: list[int], buffer: np.ndarray | None) -> np.ndarray:
    n_layer, n_embd = 18, 640
    if buffer is None:
        status = llama_cpp.llama_set_adapter_cvec(llm.ctx, None, 0, n_embd, 0, 0)
    else:
        data = buffer.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        status = llama_cpp.llama_set_adapter_cvec(
            llm.ctx, data, buffer.size, n_embd, 1, n_layer - 1
        )
    assert status == 0
    llm.reset()
    llm.eval(tokens)
    return np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)


@pytest.fixture(scope="module")
def ko_en(loaded: LoadedModel, tmp_path_factory) -> SteeringVector:
    """A real EN vector for Korean from a small extraction, exported to GGUF and read back."""
    measurement = measure(loaded, ["ko"], max_items=8)
    en, _loc = build_vectors(measurement, loaded.spec, (1, 17), (1, 17), "test")
    exported = read(write_vectors([en], tmp_path_factory.mktemp("vectors"))[0])
    for block in en.layers:
        np.testing.assert_array_equal(exported.directions[block], en.directions[block])
    return exported


@pytest.mark.parametrize("block", [3, 9, 15])
def test_hook_at_block_n_matches_llama_cpp_direction_n(loaded, llm, ko_en, block: int) -> None:
    """Compare steered-minus-unsteered logit deltas (raw logits would agree trivially)."""
    tokens = llm.tokenize(PROMPTS[1].encode(), add_bos=True, special=False)
    direction = ko_en.directions[block]  # scale 1.0: one typical state norm
    torch_delta = _torch_logits(loaded, tokens, {block: direction}) - _torch_logits(
        loaded, tokens, {}
    )
    base = _llama_logits(llm, tokens, None)
    correlation = {}
    for steered in (block - 1, block, block + 1):
        buffer = np.zeros((18, 640), dtype=np.float32)
        buffer[steered - 1] = direction  # row r of llama.cpp's buffer steers block r + 1
        delta = _llama_logits(llm, tokens, buffer) - base
        correlation[steered] = float(np.corrcoef(torch_delta, delta)[0, 1])
    _llama_logits(llm, tokens, None)
    assert correlation[block] >= 0.999, correlation
    for neighbour in (block - 1, block + 1):  # off by one block: >= 10x the mismatch
        assert 1 - correlation[neighbour] > 10 * (1 - correlation[block]), correlation


@pytest.fixture
def cli(loaded: LoadedModel, monkeypatch: pytest.MonkeyPatch):
    """Run a surgsteer command in process, reusing the loaded model."""
    monkeypatch.setattr(
        "surgsteer_convert.loading.load_model", lambda model=None, gguf=None, device="cpu": loaded
    )

    def invoke(*args: str):
        return CliRunner().invoke(main, list(args))

    return invoke


def _assert_one_line_error(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0], result.output


def test_layer_out_of_range_is_refused(cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli(
        "extract", "--lang", "ko", "--en-layers", "0-30", "--loc-layers", "14-16", "--out", str(out)
    )
    _assert_one_line_error(result, "outside blocks 1..17")
    assert not out.exists()


def test_empty_contrast_set_is_refused_before_any_file(cli, monkeypatch, tmp_path: Path) -> None:
    def no_culture_questions(languages, max_items=None):
        data = load_extraction_data(languages, max_items)
        return ExtractionData(data.cloze, {lang: [] for lang in data.blend})

    monkeypatch.setattr("surgsteer_convert.directions.load_extraction_data", no_culture_questions)
    out = tmp_path / "out"
    result = cli(
        "extract", "--lang", "ko", "--en-layers", "5-10", "--loc-layers", "14-16", "--out", str(out)
    )
    _assert_one_line_error(result, "empty contrast set")
    assert not out.exists()


def test_extract_writes_tagged_vectors_and_their_bands(cli, loaded, tmp_path: Path) -> None:
    out = tmp_path / "vectors"
    result = cli(
        "extract", "--lang", "ko", "--lang", "el", "--loc-method", "contrast",
        "--max-items", "10", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((out / "layers.json").read_text())
    assert (out / "layers.png").stat().st_size > 0
    assert sorted(path.name for path in out.glob("*.gguf")) == [
        "el.en.gguf", "el.loc.gguf", "ko.en.gguf", "ko.loc.gguf"
    ]  # fmt: skip
    for path in out.glob("*.gguf"):
        vector = read(path)
        assert vector.model == loaded.spec
        assert vector.layers == list(range(1, 18))
        assert path.name == f"{vector.language}.{vector.role}.gguf"
        assert list(vector.band) == report[f"{vector.role}_band"]
        assert vector.default_scale > 0
        assert "the layer analysis of this run" in vector.method
        assert "typical" in vector.normalization
        assert "held-out" in vector.scale_check and "perplexity" in vector.scale_check
        assert "checked in llama.cpp" in vector.scale_check
        assert vector.device == "cpu"
    assert "BMLAMA-53" in read(out / "ko.en.gguf").method
    assert "BLEnD" in read(out / "ko.loc.gguf").method
    assert "minus the mean of the same shift for el" in read(out / "ko.loc.gguf").method

    alone = cli(
        "extract", "--lang", "ko", "--loc-method", "contrast",
        "--max-items", "10", "--out", str(out),
    )  # fmt: skip
    _assert_one_line_error(alone, "extract at least two languages together")
    alone = cli("extract", "--lang", "ko", "--loc-method", "answers", "--out", str(out))
    _assert_one_line_error(alone, "extract at least two languages together")
    again = cli("extract", "--lang", "ko", "--max-items", "10", "--out", str(out))
    assert again.exit_code == 0, again.output
    assert "from layers.json" in read(out / "ko.en.gguf").method
    assert "minus the mean" not in read(out / "ko.loc.gguf").method  # country, the default


@pytest.fixture(scope="module")
def engine(loaded: LoadedModel):
    from surgsteer_convert.scale_check import runtime

    engine = runtime(loaded.gguf, 2, gpu_layers=0)
    yield engine
    engine.llm.close()


def test_held_out_check_halves_a_scale_that_breaks_the_model(loaded, engine) -> None:
    from surgsteer_convert.scale_check import HeldOut, capped

    rng = np.random.default_rng(3)
    directions = {
        layer: (rng.standard_normal(loaded.spec.n_embd) * 50).astype(np.float32)
        for layer in range(1, loaded.spec.n_layer)
    }
    held_out = HeldOut.measure(engine, "ko")
    vector = SteeringVector("en", "ko", loaded.spec, directions, default_scale=4.0, band=(5, 8))
    harsh = capped(engine, vector, held_out)
    assert harsh.default_scale < 4.0 and "halved" in harsh.scale_check
    gentle = capped(engine, replace(vector, default_scale=1e-5), held_out)
    assert gentle.default_scale == 1e-5 and "halved" not in gentle.scale_check
    assert f"in English: {held_out.english_answers} (unsteered {held_out.english_answers})" in (
        gentle.scale_check
    )
    # The steered perplexity is the baseline's, up to llama.cpp's rounding of activations
    # (quantized to 8 bits for the next matmul: a 1e-5 nudge flips a few of them).
    ratio = float(re.search(r"sentences \(.*?\) x([0-9.]+)", gentle.scale_check).group(1))
    assert ratio == pytest.approx(1.0, abs=0.01)
    # More English answers than unsteered (here: fewer than none) halves the scale too.
    strict = capped(engine, gentle, replace(held_out, english_answers=-1))
    assert strict.default_scale < gentle.default_scale and "still failing" in strict.scale_check


def test_held_out_answers_in_english_are_counted(engine) -> None:
    from surgsteer_cli.prompting import qa_prompt
    from surgsteer_convert.scale_check import english_answers

    prompt = qa_prompt("Describe the weather in London in one English sentence.")
    assert english_answers(engine, [prompt, prompt], "ko") == 2
