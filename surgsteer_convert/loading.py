"""Load a causal LM into PyTorch (float32, CPU, offline) from the GGUF the runtime uses.

A GGUF is converted by transformers (dequantized) once and cached under
``paths.cache_dir()/hf/<fingerprint>-<file key>/``, so the next run reloads in seconds. A Hugging
Face model directory can be used instead, together with the GGUF the vectors will run on, which
supplies the model's identity (fingerprint) for tagging.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers reads it: never touch the network

import torch  # noqa: E402
from torch import nn  # noqa: E402

from surgsteer_cli import console, paths  # noqa: E402
from surgsteer_cli.cpus import available_cpus  # noqa: E402
from surgsteer_cli.errors import ModelLoadError, ModelMismatchError  # noqa: E402
from surgsteer_cli.model_spec import ModelSpec  # noqa: E402
from surgsteer_cli.models import resolve_model  # noqa: E402
from surgsteer_cli.untrusted import safe_name  # noqa: E402


@dataclass
class LoadedModel:
    """A PyTorch causal LM, its tokenizer, and the identity of the GGUF it stands for."""

    model: nn.Module
    tokenizer: object
    spec: ModelSpec
    model_id: str
    blocks: nn.ModuleList


def read_metadata(path: Path) -> dict[str, object]:
    """GGUF key/values as Python values (strings, numbers, lists); ModelLoadError if unreadable."""
    import gguf

    try:
        reader = gguf.GGUFReader(path, "r")
        return {name: field.contents() for name, field in reader.fields.items()}
    except Exception as exc:  # gguf-py raises many types on malformed input
        raise ModelLoadError(f"{path}: not a readable GGUF model ({_first_line(exc)})") from None


def model_id(metadata: dict[str, object]) -> str:
    """Short folder name for a model's vectors: ``<architecture>-<size label>``, lower case,
    made a safe name (the metadata is the file's: no separators, ``..`` or markup)."""
    arch = str(metadata["general.architecture"])
    size = metadata.get("general.size_label")
    return safe_name(f"{arch}-{size}" if size else arch)


def use_threads(threads: int | None) -> None:
    """PyTorch's CPU threads: ``threads``, else the runtime's default (the CPUs not busy)."""
    torch.set_num_threads(threads or available_cpus())


def load_model(model: str | Path | None = None, gguf_path: str | Path | None = None) -> LoadedModel:
    """Load ``model`` (a .gguf file, or an HF directory plus ``gguf_path``); default: embedded."""
    source = Path(model) if model is not None else None
    hf_dir = source if source is not None and source.is_dir() else None
    if hf_dir is not None and gguf_path is None:
        raise ModelLoadError(
            f"{source} is a Hugging Face directory: pass --gguf PATH, the GGUF the vectors "
            "will run on, so they carry its fingerprint"
        )
    if hf_dir is None and gguf_path is not None:
        raise ModelLoadError("--gguf is only for Hugging Face model directories")
    gguf_file = resolve_model(gguf_path if hf_dir else source)
    metadata = read_metadata(gguf_file)
    spec = _spec(metadata, gguf_file)
    hf_dir = hf_dir or _converted(gguf_file, spec)
    hf_model, tokenizer = _load_hf(hf_dir)
    blocks = decoder_blocks(hf_model)
    hidden = hf_model.config.get_text_config().hidden_size
    if (len(blocks), hidden) != (spec.n_layer, spec.n_embd):
        raise ModelMismatchError(
            f"{hf_dir} has {len(blocks)} blocks of width {hidden} but the GGUF has "
            f"{spec.n_layer} of width {spec.n_embd}"
        )
    return LoadedModel(hf_model, tokenizer, spec, model_id(metadata), blocks)


def decoder_blocks(model: nn.Module) -> nn.ModuleList:
    """The decoder blocks: the one ModuleList as long as the text config's layer count."""
    count = model.config.get_text_config().num_hidden_layers
    found = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.ModuleList) and len(module) == count
    ]
    if len(found) != 1:
        names = ", ".join(name for name, _ in found) or "none"
        raise ModelLoadError(
            f"cannot tell which module list holds the {count} decoder blocks ({names})"
        )
    return found[0][1]


def _spec(metadata: dict[str, object], path: Path) -> ModelSpec:
    try:
        return ModelSpec.from_metadata(metadata)
    except (KeyError, ValueError) as exc:
        raise ModelLoadError(f"{path}: not a language model GGUF (missing {exc})") from None


def _quiet_transformers() -> None:
    """Rich shows our progress; silence transformers' own bars and warnings."""
    from transformers.utils import logging

    os.environ["TQDM_DISABLE"] = "1"  # the GGUF conversion uses plain tqdm
    logging.disable_progress_bar()
    logging.set_verbosity_error()


def _load_hf(directory: Path) -> tuple[nn.Module, object]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _quiet_transformers()
    try:
        model = AutoModelForCausalLM.from_pretrained(
            directory, dtype=torch.float32, local_files_only=True
        )
        tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
    except Exception as exc:  # transformers raises many types for unusable checkpoints
        raise ModelLoadError(f"{directory}: cannot load model ({_first_line(exc)})") from None
    return model.eval(), tokenizer


def _converted(gguf_file: Path, spec: ModelSpec) -> Path:
    """An HF copy of ``gguf_file`` in the cache, converting it first if needed."""
    stat = gguf_file.stat()
    key = hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:8]
    target = paths.cache_dir() / "hf" / f"{spec.fingerprint}-{key}"
    if target.is_dir():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _quiet_transformers()
    console.info(f"Converting {gguf_file.name} to PyTorch (once; cached in {target})")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        try:
            model = AutoModelForCausalLM.from_pretrained(
                gguf_file.parent,
                gguf_file=gguf_file.name,
                dtype=torch.float32,
                local_files_only=True,
            )
            tokenizer = AutoTokenizer.from_pretrained(
                gguf_file.parent, gguf_file=gguf_file.name, local_files_only=True
            )
        except Exception as exc:  # transformers raises many types for unsupported files
            raise ModelLoadError(f"{gguf_file}: cannot convert ({_first_line(exc)})") from None
        # The weights are dequantized: save them as plain float32, not as a "GGUF-quantized" model.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():  # else another process finished the same conversion first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
