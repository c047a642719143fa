"""``surgsteer quantize`` on the small test model (Q4_K_M, so dequantized to F16 first): two
quantizations with the source's fingerprint, served by the same vectors in one eval run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from surgsteer_cli.cli import main
from surgsteer_cli.model_spec import fingerprint
from surgsteer_cli.models import model_metadata, resolve_model
from surgsteer_cli.quantize import dequantize_to_f16, gguf_reader, is_quantized, output_path
from tests.test_eval_cli import write_vectors

REPO = Path(__file__).resolve().parents[1]
TYPES = {"Q8_0": "7", "Q4_0": "2"}  # llama_ftype of each


@pytest.fixture(scope="module")
def quantized(tmp_path_factory, model_path: Path) -> tuple[Path, list[Path], str]:
    directory = tmp_path_factory.mktemp("quantized")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "surgsteer_cli",
            "quantize",
            "--model",
            str(model_path),
            "--type",
            ",".join(TYPES),
            "--out",
            str(directory),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return directory, [Path(line) for line in done.stdout.split()], done.stderr


def test_outputs_are_named_and_typed(quantized) -> None:
    directory, outputs, _ = quantized
    assert [path.name for path in outputs] == [f"gemma-3-270m-{name}.gguf" for name in TYPES]
    for path, file_type in zip(outputs, TYPES.values(), strict=True):
        assert model_metadata(path)["general.file_type"] == file_type
    assert sorted(p.name for p in directory.iterdir()) == sorted(p.name for p in outputs)


def test_a_quantized_source_is_dequantized_first_and_says_so(quantized) -> None:
    _, _, stderr = quantized
    assert "is quantized: dequantizing it to F16 with gguf-py first" in stderr


def test_fingerprints_equal_the_source(quantized) -> None:
    _, outputs, _ = quantized
    source = fingerprint(model_metadata(resolve_model("gemma3-270m")))
    assert [fingerprint(model_metadata(path)) for path in outputs] == [source, source]


def test_one_eval_runs_the_original_and_its_quantizations(quantized, tmp_path: Path) -> None:
    _, outputs, _ = quantized
    vectors = write_vectors(tmp_path / "vectors", ["ko"])
    models = [resolve_model("gemma3-270m"), *outputs]
    args = ["eval", "--vectors", vectors, "--lang", "ko", "--config", "en-mid"]
    args += ["--limit", "1", "--out", tmp_path / "run"]
    for model in models:
        args += ["--model", model]
    done = subprocess.run(
        [sys.executable, "-m", "surgsteer_cli", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    lines = (tmp_path / "run" / "results.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    steered = {row["model"] for row in rows if row["setting"] == "en-mid"}
    assert steered == {model.stem for model in models}  # one vector set served all three
    assert len(rows) == 3 * (1 + 4)  # English reference, ko transfer and three Localizations
    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    assert {s["model"] for s in summary["scores"]} == steered


def test_dequantized_copy_keeps_metadata_and_f32_tensors(tmp_path: Path) -> None:
    source = gguf_reader(resolve_model("gemma3-270m"))
    target = gguf_reader(dequantize_to_f16(source, tmp_path / "f16.gguf"))
    assert is_quantized(source) and not is_quantized(target)
    before, after = (
        {name: field.contents() for name, field in reader.fields.items()}
        for reader in (source, target)
    )
    assert after["general.file_type"] == 1
    assert {key for key in before if before[key] != after.get(key)} == {"general.file_type"}
    types = {t.name: (t.tensor_type.name, list(t.shape)) for t in source.tensors}
    for tensor in target.tensors:
        kind, shape = types.pop(tensor.name)
        assert list(tensor.shape) == shape
        assert tensor.tensor_type.name == ("F32" if kind == "F32" else "F16")
    assert not types


def test_threads_reach_llama_cpps_quantizer(tmp_path: Path, monkeypatch) -> None:
    """--threads / $SURGSTEER_THREADS, else the idle CPUs, become the quantizer's nthread."""
    import llama_cpp

    seen = []

    def quantizer(source: bytes, target: bytes, params) -> int:
        seen.append(params._obj.nthread)
        return 1  # a failure: nothing is written

    monkeypatch.setattr(llama_cpp, "llama_model_quantize", quantizer)
    monkeypatch.setattr("surgsteer_cli.quantize.gguf_reader", lambda path: None)  # slow
    monkeypatch.setattr("surgsteer_cli.quantize.is_quantized", lambda reader: False)
    monkeypatch.setattr("surgsteer_cli.quantize.available_cpus", lambda: 3)
    args = ["quantize", "--type", "Q8_0", "--out", str(tmp_path)]
    for env in ({"SURGSTEER_THREADS": "1"}, {}):
        result = CliRunner().invoke(main, args, env=env)
        last = result.output.strip().splitlines()[-1]
        assert last == "Error: llama.cpp could not quantize to Q8_0: status 1"
    assert seen == [1, 3]


def test_output_names_drop_the_source_quantization_tag(tmp_path: Path) -> None:
    assert output_path(Path("a/gemma-3-270m-q4_k_m.gguf"), "Q8_0", tmp_path).name == (
        "gemma-3-270m-Q8_0.gguf"
    )
    assert output_path(Path("model-f16.gguf"), "Q4_0", tmp_path).name == "model-Q4_0.gguf"
    assert output_path(Path("plain.gguf"), "Q4_0", tmp_path).name == "plain-Q4_0.gguf"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--type", "Q8_0,Q9_9"], "unknown type Q9_9; choose from F16"),
        (["--type", "IQ2_XXS"], "unknown type IQ2_XXS"),
    ],
)
def test_bad_types_are_one_line_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["quantize", *args, "--out", str(tmp_path)])
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: ") and message in line


def test_a_source_that_is_not_gguf_is_a_one_line_error(tmp_path: Path) -> None:
    source = tmp_path / "model.gguf"
    source.write_bytes(b"not a model")
    result = CliRunner().invoke(main, ["quantize", str(source), "--type", "Q8_0"])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {source} is not a GGUF model file"


def test_a_second_run_into_the_same_folder_is_refused(tmp_path: Path) -> None:
    """The folder lock is what lets a run remove earlier runs' leftovers safely."""
    import fcntl
    import os

    out = tmp_path / "out"
    out.mkdir()
    held = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = CliRunner().invoke(main, ["quantize", "--type", "Q8_0", "--out", str(out)])
    finally:
        os.close(held)
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: another quantize run is writing into {out}"
    assert list(out.iterdir()) == []
