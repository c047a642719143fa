"""Bad input to `surgsteer extract` / `layers` that is caught before any model runs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from surgsteer_cli.cli import main
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.vector_file import SteeringVector, write


def _fails(args: list[str], message: str, out: Path) -> None:
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("command", ["extract", "layers"])
def test_unknown_language(tmp_path: Path, command: str) -> None:
    _fails([command, "--lang", "ko", "--lang", "xx"], "unknown language xx", tmp_path / "out")


def test_extract_needs_languages(tmp_path: Path) -> None:
    _fails(["extract"], "--lang CODE[,CODE...] or --all", tmp_path / "out")
    _fails(["extract", "--all", "--lang", "ko"], "--lang CODE[,CODE...] or --all", tmp_path / "o")


@pytest.mark.parametrize("command", ["extract", "layers"])
def test_threads_reach_pytorch(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """--threads / $SURGSTEER_THREADS, else the idle CPUs, are PyTorch's threads when the
    model loads."""
    torch = pytest.importorskip("torch")
    seen = []

    def load_model(model: str | None = None, gguf: str | None = None, device: str = "") -> None:
        seen.append(torch.get_num_threads())
        raise SurgsteerError("not loading")

    monkeypatch.setattr("surgsteer_convert.loading.load_model", load_model)
    monkeypatch.setattr("surgsteer_convert.loading.available_cpus", lambda: 2)
    before = torch.get_num_threads()
    try:
        for env in ({"SURGSTEER_THREADS": "1"}, {}):
            result = CliRunner().invoke(main, [command, "--lang", "ko"], env=env)
            assert result.output.strip() == "Error: not loading"
    finally:
        torch.set_num_threads(before)
    assert seen == [1, 2]


@pytest.mark.parametrize("command", ["extract", "layers"])
def test_without_the_extract_extra(
    tmp_path: Path, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As after a plain `pip install .`: no PyTorch, so a one-line hint, not a traceback."""
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ModuleNotFoundError
    monkeypatch.delitem(sys.modules, "surgsteer_convert.loading", raising=False)
    _fails([command, "--lang", "ko,zh"], "pip install 'surgsteer[extract]'", tmp_path / "out")


def test_missing_model(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    _fails(["extract", "--lang", "ko", "--model", str(missing)], "not found", tmp_path / "out")


def test_model_that_is_not_gguf(tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"not a model at all" * 10)
    _fails(["extract", "--lang", "ko", "--model", str(bogus)], "not a GGUF", tmp_path / "out")


def test_gguf_that_is_not_a_language_model(tmp_path: Path) -> None:
    """A control-vector file is valid GGUF but has no model to load."""
    spec = ModelSpec("gemma3", 4, 8, "0" * 16)
    vector = SteeringVector("en", "ko", spec, {1: np.ones(8, dtype=np.float32)})
    path = write(vector, tmp_path / "vector.gguf")
    args = ["extract", "--lang", "ko", "--model", str(path)]
    _fails(args, "not a language model", tmp_path / "out")


def test_hf_directory_needs_the_gguf_it_stands_for(tmp_path: Path) -> None:
    directory = tmp_path / "hf"
    directory.mkdir()
    _fails(["layers", "--model", str(directory)], "pass --gguf PATH", tmp_path / "out")


@pytest.mark.parametrize("command", ["extract", "layers"])
def test_device_reaches_the_loader(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """--device is handed to the loader as given; auto is the default."""
    pytest.importorskip("torch")
    seen = []

    def load_model(model: str | None = None, gguf: str | None = None, device: str = "") -> None:
        seen.append(device)
        raise SurgsteerError("not loading")

    monkeypatch.setattr("surgsteer_convert.loading.load_model", load_model)
    for args in ([], ["--device", "cpu"], ["--device", "cuda"]):
        result = CliRunner().invoke(main, [command, "--lang", "ko", *args])
        assert result.output.strip() == "Error: not loading"
    assert seen == ["auto", "cpu", "cuda"]
    result = CliRunner().invoke(main, [command, "--lang", "ko", "--device", "tpu"])
    assert result.exit_code == 2 and "'tpu' is not one of" in result.output
