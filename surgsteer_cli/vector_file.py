"""The GGUF steering-vector format: the one contract between ``surgsteer_convert/`` and the runtime.

A file holds one role (``en`` or ``loc``) for one language and one model, and stays loadable by
stock llama.cpp (``--control-vector``):

- ``general.architecture = "controlvector"``, ``controlvector.model_hint``,
  ``controlvector.layer_count``;
- one F32 1-D tensor ``direction.N`` of length n_embd per steered layer, where N is the 0-based
  decoder block whose *output* it is added to (Hugging Face ``hidden_states[N + 1]``). Block 0
  cannot be steered by llama.cpp, so ``direction.0`` is refused;
- ``surgsteer.*`` tags: role, language, default_scale, band_start/band_end (the blocks applied
  by default, inclusive; a file may carry directions outside its band for experiments, and
  stock llama.cpp ignores band and scale: see below), model.{architecture,n_layer,
  n_embd,fingerprint}, method, normalization, version, and optionally scale_check (how the
  default scale was checked on held-out text at extraction), device (where PyTorch computed
  the extraction: cpu, cuda or mps) and placement (which tokens the runtime steers by default:
  ``all``, ``prompt`` or ``question``, see ``surgsteer_cli.steering``; ``all`` when absent,
  and always for stock llama.cpp).

``surgsteer vectors export`` writes a second kind of file (``surgsteer.kind = "llama.cpp"``,
an ``ExportedVector``): one language's steering baked for stock llama.cpp, ``direction.N`` =
the sum of scale x direction over the roles that steer block N, present only for steered
blocks, loaded at strength 1 with no layer range. Its tags record what was baked:
``surgsteer.config``, ``surgsteer.<role>.{scale,blocks,method}`` per role, language, model
and version. The runtime does not load it as a profile.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from surgsteer_cli import __version__
from surgsteer_cli.errors import ModelMismatchError, VectorFileError
from surgsteer_cli.gguf_check import check_layout
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.paths import atomic_output, naming

if TYPE_CHECKING:
    import gguf

ROLES = ("en", "loc")
PLACEMENTS = ("all", "prompt", "question")
"""Which tokens a vector steers by default (``surgsteer_cli.steering`` says what each means)."""
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_NORM = 1e6
_DIRECTION = re.compile(r"direction\.([0-9]+)")
LANGUAGE_CODE = re.compile(r"[a-z]{2}")
"""ISO 639-1: two lower-case letters."""
EXPORT_KIND = "llama.cpp"


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
    placement: str = PLACEMENTS[0]
    device: str = ""
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


@dataclass(frozen=True)
class BakedPart:
    """One role baked into an exported file: ``scale`` x its direction at ``blocks``."""

    role: str
    scale: float
    blocks: tuple[int, ...]
    method: str = ""


@dataclass
class ExportedVector:
    """One language's steering baked for stock llama.cpp: ``directions[N]`` is the sum over
    ``parts`` of scale x direction at block N, so llama.cpp applies it at strength 1."""

    language: str
    model: ModelSpec
    config: str
    parts: list[BakedPart]
    directions: dict[int, np.ndarray]
    version: str = __version__

    @property
    def layers(self) -> list[int]:
        """Block indices that have a direction, ascending."""
        return sorted(self.directions)


def validate(vector: SteeringVector) -> None:
    """Raise VectorFileError unless the vector is internally consistent and safe to apply."""
    if vector.role not in ROLES:
        raise VectorFileError(f"role must be one of {', '.join(ROLES)}, not {vector.role[:20]!r}")
    if not LANGUAGE_CODE.fullmatch(vector.language):
        raise VectorFileError(f"language must be an ISO 639-1 code, not {vector.language[:20]!r}")
    if not math.isfinite(vector.default_scale):
        raise VectorFileError("default_scale is not a finite number")
    if vector.placement not in PLACEMENTS:
        raise VectorFileError(
            f"placement must be one of {', '.join(PLACEMENTS)}, not {vector.placement[:20]!r}"
        )
    if not vector.directions:
        raise VectorFileError("the vector has no direction.N tensors")
    spec = vector.model
    _check_shape(spec)
    if vector.band is not None:
        start, end = vector.band
        if not 1 <= start <= end < spec.n_layer:
            raise VectorFileError(f"band {start}-{end} is outside blocks 1..{spec.n_layer - 1}")
        if not any(start <= layer <= end for layer in vector.directions):
            raise VectorFileError(f"band {start}-{end} contains no direction")
    for layer, direction in vector.directions.items():
        norm = _check_direction(spec, layer, direction)
        if abs(vector.default_scale) * norm > MAX_NORM:
            raise VectorFileError(
                f"default_scale {vector.default_scale:g} gives direction.{layer} an absurd norm"
            )


def validate_export(vector: ExportedVector) -> None:
    """Raise VectorFileError unless an exported vector is consistent and safe to apply."""
    if not LANGUAGE_CODE.fullmatch(vector.language):
        raise VectorFileError(f"language must be an ISO 639-1 code, not {vector.language[:20]!r}")
    _check_shape(vector.model)
    roles = [part.role for part in vector.parts]
    if not roles or len(set(roles)) != len(roles) or not set(roles) <= set(ROLES):
        raise VectorFileError(f"baked roles must be distinct ones of {', '.join(ROLES)}")
    steered = {block for part in vector.parts for block in part.blocks}
    for part in vector.parts:
        if not math.isfinite(part.scale):
            raise VectorFileError(f"the {part.role} scale is not a finite number")
        if not all(1 <= block < vector.model.n_layer for block in part.blocks):
            raise VectorFileError(f"the {part.role} blocks are outside the model")
    if not vector.directions:
        raise VectorFileError("the vector has no direction.N tensors")
    for layer, direction in vector.directions.items():
        if layer not in steered:
            raise VectorFileError(f"direction.{layer} is at a block no baked role steers")
        _check_direction(vector.model, layer, direction)


def _check_shape(spec: ModelSpec) -> None:
    if spec.n_layer < 2 or spec.n_embd < 1:
        raise VectorFileError(
            f"implausible model shape: n_layer={spec.n_layer}, n_embd={spec.n_embd}"
        )


def _check_direction(spec: ModelSpec, layer: int, direction: np.ndarray) -> float:
    """Raise VectorFileError unless ``direction.layer`` fits ``spec``; return its norm."""
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
    return norm


def write(vector: SteeringVector, path: str | Path) -> Path:
    """Validate and write ``vector`` atomically (temp file + rename); return the path."""
    validate(vector)

    def tags(writer: gguf.GGUFWriter) -> None:
        writer.add_string("surgsteer.role", vector.role)
        writer.add_string("surgsteer.language", vector.language)
        writer.add_float32("surgsteer.default_scale", float(vector.default_scale))
        if vector.band is not None:
            writer.add_uint32("surgsteer.band_start", vector.band[0])
            writer.add_uint32("surgsteer.band_end", vector.band[1])
        _add_model(writer, vector.model)
        writer.add_string("surgsteer.method", vector.method)
        writer.add_string("surgsteer.normalization", vector.normalization)
        writer.add_string("surgsteer.version", vector.version)
        if vector.scale_check:
            writer.add_string("surgsteer.scale_check", vector.scale_check)
        if vector.placement != PLACEMENTS[0]:
            writer.add_string("surgsteer.placement", vector.placement)
        if vector.device:
            writer.add_string("surgsteer.device", vector.device)

    return _write_file(path, vector.model, vector.directions, tags)


def write_export(vector: ExportedVector, path: str | Path) -> Path:
    """Validate and write an exported vector atomically; return the path."""
    validate_export(vector)

    def tags(writer: gguf.GGUFWriter) -> None:
        writer.add_string("surgsteer.kind", EXPORT_KIND)
        writer.add_string("surgsteer.language", vector.language)
        writer.add_string("surgsteer.config", vector.config)
        for part in vector.parts:
            writer.add_float32(f"surgsteer.{part.role}.scale", float(part.scale))
            writer.add_array(f"surgsteer.{part.role}.blocks", list(part.blocks))
            writer.add_string(f"surgsteer.{part.role}.method", part.method)
        _add_model(writer, vector.model)
        writer.add_string("surgsteer.version", vector.version)

    return _write_file(path, vector.model, vector.directions, tags)


def _write_file(
    path: str | Path,
    model: ModelSpec,
    directions: dict[int, np.ndarray],
    tags: Callable[[gguf.GGUFWriter], None],
) -> Path:
    import gguf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as partial:
        writer = gguf.GGUFWriter(partial, arch="controlvector")
        writer.add_string("controlvector.model_hint", model.architecture)
        writer.add_int32("controlvector.layer_count", len(directions))
        tags(writer)
        for layer in sorted(directions):
            data = np.ascontiguousarray(directions[layer], dtype=np.float32)
            writer.add_tensor(f"direction.{layer}", data)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    return path


def _add_model(writer: gguf.GGUFWriter, model: ModelSpec) -> None:
    writer.add_string("surgsteer.model.architecture", model.architecture)
    writer.add_uint32("surgsteer.model.n_layer", model.n_layer)
    writer.add_uint32("surgsteer.model.n_embd", model.n_embd)
    writer.add_string("surgsteer.model.fingerprint", model.fingerprint)


def read(path: str | Path) -> SteeringVector:
    """Read and validate a profile vector file; every defect becomes a VectorFileError."""
    vector = load(path)
    if isinstance(vector, ExportedVector):
        raise VectorFileError(
            f"{path}: baked for stock llama.cpp by `surgsteer vectors export`, not a profile "
            "vector (`surgsteer vectors inspect` shows what it holds)"
        )
    return vector


def load(path: str | Path) -> SteeringVector | ExportedVector:
    """Read and validate a vector file of either kind; every defect becomes a
    VectorFileError."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise VectorFileError(f"{path}: cannot read vector file ({exc.strerror})") from None
    if not path.is_file():
        raise VectorFileError(f"{path}: not a file")
    if size > MAX_FILE_BYTES:
        raise VectorFileError(f"{path}: {size} bytes is too large for a steering vector")
    with naming(path), path.open("rb") as handle:  # a read error names the file
        if handle.read(4) != b"GGUF":
            raise VectorFileError(f"{path}: not a GGUF file (bad magic)")
    try:
        check_layout(path)
        fields, directions = _open(path)
        kind = _optional(fields, "surgsteer.kind", str, "", None)
        if kind == EXPORT_KIND:
            exported = _parse_export(fields, directions)
            validate_export(exported)
            return exported
        if kind:
            raise VectorFileError(f"unknown surgsteer.kind {kind[:20]!r}")
        vector = _parse(fields, directions)
        validate(vector)
        return vector
    except VectorFileError as exc:
        raise VectorFileError(f"{path}: {exc}") from None


def _open(path: Path) -> tuple[dict[str, object], dict[int, np.ndarray]]:
    """The key/values and the ``direction.N`` tensors of a control-vector file."""
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
    return fields, directions


def _model(fields: dict[str, object]) -> ModelSpec:
    return ModelSpec(
        architecture=_require(fields, "surgsteer.model.architecture", str),
        n_layer=_require(fields, "surgsteer.model.n_layer", int),
        n_embd=_require(fields, "surgsteer.model.n_embd", int),
        fingerprint=_require(fields, "surgsteer.model.fingerprint", str),
    )


def _parse(fields: dict[str, object], directions: dict[int, np.ndarray]) -> SteeringVector:
    warnings: list[str] = []
    default_scale = _optional(fields, "surgsteer.default_scale", float, 1.0, warnings)
    band = None
    if "surgsteer.band_start" in fields or "surgsteer.band_end" in fields:
        band = (
            _require(fields, "surgsteer.band_start", int),
            _require(fields, "surgsteer.band_end", int),
        )
    return SteeringVector(
        role=_require(fields, "surgsteer.role", str),
        language=_require(fields, "surgsteer.language", str),
        model=_model(fields),
        directions=directions,
        default_scale=_float32(default_scale),
        band=band,
        method=_optional(fields, "surgsteer.method", str, "", None),
        normalization=_optional(fields, "surgsteer.normalization", str, "", None),
        version=_optional(fields, "surgsteer.version", str, "", warnings),
        scale_check=_optional(fields, "surgsteer.scale_check", str, "", None),
        placement=_optional(fields, "surgsteer.placement", str, PLACEMENTS[0], None),
        device=_optional(fields, "surgsteer.device", str, "", None),
        warnings=warnings,
    )


def _parse_export(fields: dict[str, object], directions: dict[int, np.ndarray]) -> ExportedVector:
    parts = [
        BakedPart(
            role=role,
            scale=_float32(_require(fields, f"surgsteer.{role}.scale", float)),
            blocks=tuple(_require(fields, f"surgsteer.{role}.blocks", list)),
            method=_optional(fields, f"surgsteer.{role}.method", str, "", None),
        )
        for role in ROLES
        if f"surgsteer.{role}.scale" in fields
    ]
    return ExportedVector(
        language=_require(fields, "surgsteer.language", str),
        model=_model(fields),
        config=_require(fields, "surgsteer.config", str),
        parts=parts,
        directions=directions,
        version=_optional(fields, "surgsteer.version", str, "", None),
    )


def _float32(value: float) -> float:
    """A float32 tag as the decimal it was written from: 0.01 reads as 0.01."""
    return float(f"{value:.7g}")


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
    if kind is list and isinstance(value, list) and all(type(item) is int for item in value):
        return value
    raise VectorFileError(f"key {key} has the wrong type (expected {kind.__name__})")
