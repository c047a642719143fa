"""The GGUF steering-vector format: the one contract between ``convert/`` and the runtime.

A file holds one role (``en`` or ``loc``) for one language and one model, and stays loadable by
stock llama.cpp (``--control-vector``):

- ``general.architecture = "controlvector"``, ``controlvector.model_hint``,
  ``controlvector.layer_count``;
- one F32 1-D tensor ``direction.N`` of length n_embd per steered layer, where N is the 0-based
  decoder block whose *output* it is added to (Hugging Face ``hidden_states[N + 1]``). Block 0
  cannot be steered by llama.cpp, so ``direction.0`` is refused;
- ``surgsteer.*`` tags: role, language, default_scale, band_start/band_end (the blocks applied
  by default, inclusive; a file may carry directions outside its band for experiments, and stock
  llama.cpp users pass ``--control-vector-layer-range START END``), model.{architecture,n_layer,
  n_embd,fingerprint}, method, normalization, version, and optionally scale_check (how the
  default scale was checked on held-out text at extraction).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from surgsteer_cli import __version__
from surgsteer_cli.errors import ModelMismatchError, VectorFileError
from surgsteer_cli.gguf_check import check_layout
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.paths import atomic_output

ROLES = ("en", "loc")
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_NORM = 1e6
_DIRECTION = re.compile(r"direction\.([0-9]+)")
LANGUAGE_CODE = re.compile(r"[a-z]{2}")
"""ISO 639-1: two lower-case letters."""


@dataclass
class SteeringVector:
    """Directions for one role/language/model; ``directions[N]`` is added after block N."""

    role: str
    language: str
    model: ModelSpec
    directions: dict[int, np.ndarray]
    default_scale: float = 1.0
    band: tuple[int, int] | None = None
    method: str = ""
    normalization: str = ""
    version: str = __version__
    scale_check: str = ""
    warnings: list[str] = field(default_factory=list, compare=False)

    @property
    def layers(self) -> list[int]:
        """Block indices that have a direction, ascending."""
        return sorted(self.directions)

    @property
    def band_layers(self) -> list[int]:
        """Blocks applied by default: those inside ``band`` (all of them when no band is set)."""
        if self.band is None:
            return self.layers
        start, end = self.band
        return [layer for layer in self.layers if start <= layer <= end]

    def check_compatible(self, model: ModelSpec) -> None:
        """Raise ModelMismatchError naming the first field that differs from ``model``."""
        for name in ("architecture", "n_layer", "n_embd", "fingerprint"):
            mine, theirs = getattr(self.model, name), getattr(model, name)
            if mine != theirs:
                raise ModelMismatchError(
                    f"{self.role}/{self.language} vector was made for another model: "
                    f"{name} is {mine!r} in the vector but {theirs!r} in the model"
                )


def validate(vector: SteeringVector) -> None:
    """Raise VectorFileError unless the vector is internally consistent and safe to apply."""
    if vector.role not in ROLES:
        raise VectorFileError(f"role must be one of {', '.join(ROLES)}, not {vector.role[:20]!r}")
    if not LANGUAGE_CODE.fullmatch(vector.language):
        raise VectorFileError(f"language must be an ISO 639-1 code, not {vector.language[:20]!r}")
    if not math.isfinite(vector.default_scale):
        raise VectorFileError("default_scale is not a finite number")
    if not vector.directions:
        raise VectorFileError("the vector has no direction.N tensors")
    spec = vector.model
    if spec.n_layer < 2 or spec.n_embd < 1:
        raise VectorFileError(
            f"implausible model shape: n_layer={spec.n_layer}, n_embd={spec.n_embd}"
        )
    if vector.band is not None:
        start, end = vector.band
        if not 1 <= start <= end < spec.n_layer:
            raise VectorFileError(f"band {start}-{end} is outside blocks 1..{spec.n_layer - 1}")
        if not any(start <= layer <= end for layer in vector.directions):
            raise VectorFileError(f"band {start}-{end} contains no direction")
    for layer, direction in vector.directions.items():
        if not 1 <= layer < spec.n_layer:
            raise VectorFileError(
                f"direction.{layer} is outside blocks 1..{spec.n_layer - 1} of a "
                f"{spec.n_layer}-layer model (llama.cpp cannot steer block 0)"
            )
        if direction.shape != (spec.n_embd,):
            raise VectorFileError(
                f"direction.{layer} has shape {direction.shape}, expected ({spec.n_embd},)"
            )
        if not np.all(np.isfinite(direction)):
            raise VectorFileError(f"direction.{layer} contains NaN or Inf")
        norm = float(np.linalg.norm(direction.astype(np.float64)))
        if norm > MAX_NORM:
            raise VectorFileError(f"direction.{layer} has an absurd norm (> {MAX_NORM:g})")
        if abs(vector.default_scale) * norm > MAX_NORM:
            raise VectorFileError(
                f"default_scale {vector.default_scale:g} gives direction.{layer} an absurd norm"
            )


def write(vector: SteeringVector, path: str | Path) -> Path:
    """Validate and write ``vector`` atomically (temp file + rename); return the path."""
    import gguf

    validate(vector)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as partial:
        writer = gguf.GGUFWriter(partial, arch="controlvector")
        writer.add_string("controlvector.model_hint", vector.model.architecture)
        writer.add_int32("controlvector.layer_count", len(vector.directions))
        writer.add_string("surgsteer.role", vector.role)
        writer.add_string("surgsteer.language", vector.language)
        writer.add_float32("surgsteer.default_scale", float(vector.default_scale))
        if vector.band is not None:
            writer.add_uint32("surgsteer.band_start", vector.band[0])
            writer.add_uint32("surgsteer.band_end", vector.band[1])
        writer.add_string("surgsteer.model.architecture", vector.model.architecture)
        writer.add_uint32("surgsteer.model.n_layer", vector.model.n_layer)
        writer.add_uint32("surgsteer.model.n_embd", vector.model.n_embd)
        writer.add_string("surgsteer.model.fingerprint", vector.model.fingerprint)
        writer.add_string("surgsteer.method", vector.method)
        writer.add_string("surgsteer.normalization", vector.normalization)
        writer.add_string("surgsteer.version", vector.version)
        if vector.scale_check:
            writer.add_string("surgsteer.scale_check", vector.scale_check)
        for layer in vector.layers:
            data = np.ascontiguousarray(vector.directions[layer], dtype=np.float32)
            writer.add_tensor(f"direction.{layer}", data)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    return path


def read(path: str | Path) -> SteeringVector:
    """Read and validate a steering-vector file; every defect becomes a VectorFileError."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise VectorFileError(f"{path}: cannot read vector file ({exc.strerror})") from None
    if not path.is_file():
        raise VectorFileError(f"{path}: not a file")
    if size > MAX_FILE_BYTES:
        raise VectorFileError(f"{path}: {size} bytes is too large for a steering vector")
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise VectorFileError(f"{path}: not a GGUF file (bad magic)")
    try:
        check_layout(path)
        vector = _parse(path)
        validate(vector)
    except VectorFileError as exc:
        raise VectorFileError(f"{path}: {exc}") from None
    return vector


def _parse(path: Path) -> SteeringVector:
    import gguf

    try:
        reader = gguf.GGUFReader(path, "r")
        fields = {name: f.contents() for name, f in reader.fields.items()}
        tensors = list(reader.tensors)
    except VectorFileError:
        raise
    except Exception as exc:  # gguf-py raises many types on malformed input
        raise VectorFileError(f"malformed GGUF ({type(exc).__name__}: {exc})") from None

    if fields.get("general.architecture") != "controlvector":
        raise VectorFileError("general.architecture is not 'controlvector'")
    warnings: list[str] = []
    spec = ModelSpec(
        architecture=_require(fields, "surgsteer.model.architecture", str),
        n_layer=_require(fields, "surgsteer.model.n_layer", int),
        n_embd=_require(fields, "surgsteer.model.n_embd", int),
        fingerprint=_require(fields, "surgsteer.model.fingerprint", str),
    )
    directions: dict[int, np.ndarray] = {}
    for tensor in tensors:
        match = _DIRECTION.fullmatch(tensor.name)
        if match is None:
            raise VectorFileError(f"unexpected tensor {tensor.name!r}")
        layer = int(match.group(1))
        if layer in directions:
            raise VectorFileError(f"duplicate tensor direction.{layer}")
        if tensor.tensor_type != gguf.GGMLQuantizationType.F32:
            raise VectorFileError(f"direction.{layer} is {tensor.tensor_type.name}, expected F32")
        if len(tensor.shape) != 1:
            raise VectorFileError(f"direction.{layer} is not 1-D")
        directions[layer] = np.array(tensor.data, dtype=np.float32).reshape(-1)
    default_scale = _optional(fields, "surgsteer.default_scale", float, 1.0, warnings)
    default_scale = float(f"{default_scale:.7g}")  # stored as float32: 0.01 reads as 0.01
    band = None
    if "surgsteer.band_start" in fields or "surgsteer.band_end" in fields:
        band = (
            _require(fields, "surgsteer.band_start", int),
            _require(fields, "surgsteer.band_end", int),
        )
    return SteeringVector(
        role=_require(fields, "surgsteer.role", str),
        language=_require(fields, "surgsteer.language", str),
        model=spec,
        directions=directions,
        default_scale=default_scale,
        band=band,
        method=_optional(fields, "surgsteer.method", str, "", None),
        normalization=_optional(fields, "surgsteer.normalization", str, "", None),
        version=_optional(fields, "surgsteer.version", str, "", warnings),
        scale_check=_optional(fields, "surgsteer.scale_check", str, "", None),
        warnings=warnings,
    )


def _require(fields: dict[str, object], key: str, kind: type) -> object:
    if key not in fields:
        raise VectorFileError(f"missing key {key}")
    return _typed(fields[key], key, kind)


def _optional(
    fields: dict[str, object], key: str, kind: type, default: object, warnings: list[str] | None
) -> object:
    """Return the typed value of ``key``; when absent, ``default`` (noted in ``warnings``)."""
    if key not in fields:
        if warnings is not None:
            warnings.append(f"missing optional key {key}; using {default!r}")
        return default
    return _typed(fields[key], key, kind)


def _typed(value: object, key: str, kind: type) -> object:
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str):
        return value
    raise VectorFileError(f"key {key} has the wrong type (expected {kind.__name__})")
