"""Load a causal LM for extraction: streamed through PyTorch block by block, offline.

The weights are read from the GGUF the runtime uses (memory-mapped, one block dequantized at a
time, see ``surgsteer_convert.streaming``), so memory holds one block and nothing is written to
disk. A Hugging Face model directory (safetensors) can be used instead, together with the GGUF
the vectors will run on, which supplies the model's identity (fingerprint) for tagging.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers reads it: never touch the network

import torch  # noqa: E402
from torch import nn  # noqa: E402

from surgsteer_cli import console, paths  # noqa: E402
from surgsteer_cli.cpus import available_cpus  # noqa: E402
from surgsteer_cli.errors import ModelLoadError, ModelMismatchError, SurgsteerError  # noqa: E402
from surgsteer_cli.model_spec import ModelSpec  # noqa: E402
from surgsteer_cli.models import resolve_model  # noqa: E402
from surgsteer_cli.untrusted import safe_name  # noqa: E402
from surgsteer_convert import DEVICES  # noqa: E402
from surgsteer_convert.streaming import GGUFTensors, SafetensorsTensors, StreamedModel  # noqa: E402

if TYPE_CHECKING:
    import gguf


@dataclass
class LoadedModel:
    """A causal LM streamed through PyTorch, its tokenizer, and the GGUF it stands for."""

    streamed: StreamedModel
    tokenizer: object
    spec: ModelSpec
    model_id: str
    gguf: Path
    """The GGUF the vectors run on: the held-out scale check runs it through llama.cpp."""

    @property
    def device(self) -> str:
        """Where PyTorch computes: cpu, cuda or mps."""
        return self.streamed.device.type


def open_gguf(path: Path) -> gguf.GGUFReader:
    """The GGUF's reader (metadata parsed, tensors memory-mapped); ModelLoadError if unreadable."""
    import gguf

    try:
        return gguf.GGUFReader(path, "r")
    except Exception as exc:  # gguf-py raises many types on malformed input
        raise ModelLoadError(f"{path}: not a readable GGUF model ({_first_line(exc)})") from None


def read_metadata(reader: gguf.GGUFReader) -> dict[str, object]:
    """GGUF key/values as Python values (strings, numbers, lists), the tokenizer's left out."""
    return {
        name: field.contents()
        for name, field in reader.fields.items()
        if not name.startswith("tokenizer.")
    }


def model_id(metadata: dict[str, object]) -> str:
    """Short folder name for a model's vectors: ``<architecture>-<size label>``, lower case,
    made a safe name (the metadata is the file's: no separators, ``..`` or markup)."""
    arch = str(metadata["general.architecture"])
    size = metadata.get("general.size_label")
    return safe_name(f"{arch}-{size}" if size else arch)


def use_threads(threads: int | None) -> None:
    """PyTorch's CPU threads: ``threads``, else the runtime's default (the CPUs not busy)."""
    torch.set_num_threads(threads or available_cpus())


def resolve_device(name: str) -> torch.device:
    """The torch device for ``--device``: auto = CUDA, else MPS, when torch sees one, else CPU."""
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    if name == "auto":
        return torch.device(next(device for device in ("cuda", "mps", "cpu") if available[device]))
    if name not in available:
        raise SurgsteerError(f"unknown device {name!r}: choose from {', '.join(DEVICES)}")
    if not available[name]:
        raise SurgsteerError(f"--device {name}: this PyTorch build sees no {name} device")
    return torch.device(name)


def load_model(
    model: str | Path | None = None, gguf_path: str | Path | None = None, device: str = "cpu"
) -> LoadedModel:
    """Load ``model`` (a .gguf file, or an HF directory plus ``gguf_path``; default: the
    default named model) for streaming on ``device`` (see ``resolve_device``)."""
    source = Path(model) if model is not None else None
    hf_dir = source if source is not None and source.is_dir() else None
    if hf_dir is not None and gguf_path is None:
        raise ModelLoadError(
            f"{source} is a Hugging Face directory: pass --gguf PATH, the GGUF the vectors "
            "will run on, so they carry its fingerprint"
        )
    if hf_dir is None and gguf_path is not None:
        raise ModelLoadError("--gguf is only for Hugging Face model directories")
    torch_device = resolve_device(device)
    gguf_file = resolve_model(gguf_path if hf_dir else source)
    reader = open_gguf(gguf_file)
    metadata = read_metadata(reader)
    spec = _spec(metadata, gguf_file)
    _quiet_transformers()
    streamed, tokenizer = (
        _from_hf_dir(hf_dir, torch_device)
        if hf_dir
        else _from_gguf(gguf_file, reader, spec, torch_device)
    )
    hidden = streamed.config.hidden_size
    if (streamed.n_layer, hidden) != (spec.n_layer, spec.n_embd):
        raise ModelMismatchError(
            f"{hf_dir or gguf_file} has {streamed.n_layer} blocks of width {hidden} but the "
            f"GGUF has {spec.n_layer} of width {spec.n_embd}"
        )
    return LoadedModel(streamed, tokenizer, spec, model_id(metadata), gguf_file)


def skeleton(config: object) -> nn.Module:
    """transformers' causal LM for ``config``, parameters on the meta device (buffers such as
    rotary frequencies real: they are computed, not read)."""
    from accelerate import init_empty_weights
    from transformers import AutoModelForCausalLM

    with init_empty_weights(include_buffers=False):
        return AutoModelForCausalLM.from_config(config, dtype=torch.float32)


def _from_gguf(
    path: Path, reader: gguf.GGUFReader, spec: ModelSpec, device: torch.device
) -> tuple[StreamedModel, object]:
    """Config and tokenizer as transformers derives them from the GGUF; tensors streamed."""
    from transformers import AutoConfig, AutoTokenizer

    folder = _gguf_metadata(path, spec)
    try:
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = skeleton(config)
        tensors = GGUFTensors(path, reader, model, config.to_dict())
    except ModelLoadError:
        raise
    except Exception as exc:  # transformers raises many types for unsupported files
        raise ModelLoadError(f"{path}: cannot load into PyTorch ({_first_line(exc)})") from None
    return StreamedModel(model, tensors, device), tokenizer


def _gguf_metadata(gguf_file: Path, spec: ModelSpec) -> Path:
    """A folder with the config and tokenizer transformers derives from ``gguf_file`` (a few
    MB, cached: reading a GGUF's vocabulary takes transformers a minute), no weights."""
    from transformers import AutoConfig, AutoTokenizer

    stat = gguf_file.stat()
    key = hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:8]
    target = paths.cache_dir() / "hf-metadata" / f"{spec.fingerprint}-{key}"
    if target.is_dir():
        return target
    console.info(f"Reading the tokenizer of {gguf_file.name} (once; cached in {target})")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".read-", dir=target.parent))
    try:
        try:
            options = dict(gguf_file=gguf_file.name, local_files_only=True)
            AutoConfig.from_pretrained(gguf_file.parent, **options).save_pretrained(staging)
            tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, **options)
            tokenizer.save_pretrained(staging)
        except Exception as exc:  # transformers raises many types for unsupported files
            raise ModelLoadError(f"{gguf_file}: cannot read ({_first_line(exc)})") from None
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():  # else another process finished the same reading first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _from_hf_dir(directory: Path, device: torch.device) -> tuple[StreamedModel, object]:
    """Config and tokenizer of a Hugging Face directory; its safetensors streamed."""
    from transformers import AutoConfig, AutoTokenizer

    try:
        config = AutoConfig.from_pretrained(directory, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
        model = skeleton(config)
    except Exception as exc:  # transformers raises many types for unusable checkpoints
        raise ModelLoadError(f"{directory}: cannot load model ({_first_line(exc)})") from None
    return StreamedModel(model, SafetensorsTensors(directory), device), tokenizer


def _spec(metadata: dict[str, object], path: Path) -> ModelSpec:
    try:
        return ModelSpec.from_metadata(metadata)
    except (KeyError, ValueError) as exc:
        raise ModelLoadError(f"{path}: not a language model GGUF (missing {exc})") from None


def _quiet_transformers() -> None:
    """Rich shows our progress; silence transformers' own bars and warnings."""
    from transformers.utils import logging

    os.environ["TQDM_DISABLE"] = "1"  # the GGUF metadata parsing uses plain tqdm
    logging.disable_progress_bar()
    logging.set_verbosity_error()


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
