"""Identity of a base model: architecture, shape and a fingerprint shared by its quantizations.

The fingerprint is a SHA-256 (first 16 hex digits) over the GGUF metadata that quantization
does not change: ``general.architecture``, ``general.basename``, ``general.size_label``,
``general.finetune`` and the architecture's ``block_count``, ``embedding_length``,
``feed_forward_length``, ``attention.head_count``, ``attention.head_count_kv`` and
``context_length`` (whichever are present), each rendered as text. Weights, tensor types,
``general.name`` and ``general.file_type`` are left out, so Q4_K_M, Q8_0 and F16 files of one
model share a fingerprint while a different model (or a fine-tune that says so) does not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from surgsteer_cli.errors import SurgsteerError

GENERAL_KEYS = (
    "general.architecture",
    "general.basename",
    "general.size_label",
    "general.finetune",
)
ARCH_KEYS = (
    "block_count",
    "embedding_length",
    "feed_forward_length",
    "attention.head_count",
    "attention.head_count_kv",
    "context_length",
)


@dataclass(frozen=True)
class ModelSpec:
    """What a steering vector must agree with to be applied to a model."""

    architecture: str
    n_layer: int
    n_embd: int
    fingerprint: str

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, object]) -> ModelSpec:
        """Build a spec from GGUF key/values (values may be numbers or their text form)."""
        arch = str(metadata["general.architecture"])
        return cls(
            architecture=arch,
            n_layer=int(str(metadata[f"{arch}.block_count"])),
            n_embd=int(str(metadata[f"{arch}.embedding_length"])),
            fingerprint=fingerprint(metadata),
        )


def fingerprint(metadata: Mapping[str, object]) -> str:
    """Hash the quantization-invariant identity keys of a GGUF model's metadata."""
    arch = str(metadata["general.architecture"])
    keys = [*GENERAL_KEYS, *(f"{arch}.{key}" for key in ARCH_KEYS)]
    identity = {key: _as_text(metadata[key]) for key in keys if key in metadata}
    blob = json.dumps(identity, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _as_text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_band(text: str, n_layer: int) -> tuple[int, int]:
    """``"A-B"`` (or ``"A"``) as an inclusive block range inside 1..n_layer-1."""
    start, _, end = text.partition("-")
    try:
        band = (int(start), int(end or start))
    except ValueError:
        raise SurgsteerError(f"layer range {text!r} is not of the form A-B") from None
    if not 1 <= band[0] <= band[1] <= n_layer - 1:
        raise SurgsteerError(
            f"layer range {text} is outside blocks 1..{n_layer - 1} of this {n_layer}-layer model"
        )
    return band
