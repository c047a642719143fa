"""The shipped vectors: llama.cpp's control-vector layout, runtime profiles, documented bands."""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np

from surgsteer_cli.profiles import discover
from surgsteer_cli.steering import profile_buffer
from surgsteer_cli.vector_file import read

SHIPPED = Path(__file__).resolve().parents[1] / "vectors" / "gemma3-270m"
LANGUAGES = ("ko", "zh", "es", "id", "el", "fa", "ar", "az")


def test_every_language_has_both_roles() -> None:
    names = sorted(path.name for path in SHIPPED.glob("*.gguf"))
    assert names == sorted(f"{lang}.{role}.gguf" for lang in LANGUAGES for role in ("en", "loc"))


def test_files_have_the_layout_stock_llama_cpp_loads() -> None:
    """What llama.cpp's control-vector loader reads: F32 1-D ``direction.N`` tensors, N >= 1."""
    for path in SHIPPED.glob("*.gguf"):
        reader = gguf.GGUFReader(path)
        fields = {name: field.contents() for name, field in reader.fields.items()}
        assert fields["general.architecture"] == "controlvector"
        assert fields["controlvector.model_hint"] == "gemma3"
        assert fields["controlvector.layer_count"] == len(reader.tensors) == 17
        layers = []
        for tensor in reader.tensors:
            prefix, _, layer = tensor.name.partition(".")
            assert prefix == "direction"
            assert tensor.tensor_type == gguf.GGMLQuantizationType.F32
            assert [int(n) for n in tensor.shape] == [640]
            layers.append(int(layer))
        assert sorted(layers) == list(range(1, 18))


def test_bands_and_model_match_the_shipped_layer_report() -> None:
    report = json.loads((SHIPPED / "layers.json").read_text(encoding="utf-8"))
    for path in SHIPPED.glob("*.gguf"):
        vector = read(path)
        assert list(vector.band) == report[f"{vector.role}_band"]
        assert vector.model.fingerprint == report["fingerprint"]
        norms = [float(np.linalg.norm(vector.directions[n])) for n in vector.layers]
        assert all(norm > 0 for norm in norms)


def test_runtime_finds_a_profile_per_language(small_engine) -> None:
    profiles = discover(small_engine.spec)
    for lang in LANGUAGES:
        profile = profiles[lang]
        assert profile.en is not None and profile.loc is not None
        assert {path.parent for path in profile.sources} == {SHIPPED}
        buffer = profile_buffer(profile, small_engine.spec)
        steered = {row + 1 for row in np.flatnonzero(np.abs(buffer).sum(axis=1))}
        assert steered == set(profile.en.band_layers) | set(profile.loc.band_layers)
