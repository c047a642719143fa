"""Seeded generator of malformed and hostile steering-vector files.

Three valid base files are written with ``vector_file.write``; every case is one of them
damaged in one way, grouped in families (truncation at every field boundary, wrong magic and
version, hostile counts and lengths, wrong types and shapes, bad offsets, bad floats, hostile
key/values, semantic defects, vectors for another model, seeded random byte damage). Each case
says which outcomes are acceptable when the file is read and checked against the base's model:

- ``error``: ``vector_file.read`` raises VectorFileError;
- ``mismatch``: it reads, and ``check_compatible`` raises ModelMismatchError;
- ``warning``: it reads with a warning (a missing optional key) and is compatible;
- ``valid``: it reads cleanly and is compatible.

Random byte damage may leave a valid file (a flipped bit in a float), so it accepts any outcome;
the invariant every case shares is "no other exception, no hang, bounded memory".
"""

from __future__ import annotations

import random
import struct
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cache
from itertools import chain, zip_longest
from pathlib import Path

import numpy as np

from surgsteer_cli import vector_file
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.vector_file import SteeringVector
from tests.fuzz.gguf_bytes import (
    ARRAY,
    BF16,
    BOOL,
    F16,
    F32,
    FLOAT32,
    FLOAT64,
    I32,
    INT32,
    INT64,
    Q4_0,
    Q8_0,
    STRING,
    UINT8,
    UINT32,
    UINT64,
    VALUE_TYPES,
    Kv,
    Layout,
    Tensor,
    decompose,
    serialize,
)

ERROR = frozenset({"error"})
MISMATCH = frozenset({"mismatch"})
WARNING = frozenset({"warning"})
VALID = frozenset({"valid"})
ANY = ERROR | MISMATCH | WARNING | VALID
HUGE = (2**31, 2**32, 2**63, 2**64 - 1)
BAD_FLOATS = (float("nan"), float("inf"), float("-inf"), 1e30, 3e38)


@dataclass(frozen=True)
class Case:
    """One file to read, the model to check it against, and the acceptable outcomes."""

    name: str
    data: bytes
    model: ModelSpec
    expect: frozenset[str]

    @property
    def family(self) -> str:
        """The function that made the case: the first part of the name."""
        return self.name.split("/")[0]


@dataclass(frozen=True)
class Base:
    """A valid vector file, decomposed and serialized."""

    name: str
    model: ModelSpec
    kvs: list[Kv]
    tensors: list[Tensor]
    layout: Layout

    def case(self, family: str, detail: str, data: bytes, expect: frozenset[str]) -> Case:
        return Case(f"{family}/{self.name}/{detail}", data, self.model, expect)

    def rebuilt(
        self, family: str, detail: str, kvs: list[Kv], tensors: list[Tensor], expect: frozenset[str]
    ) -> Case:
        return self.case(family, detail, serialize(kvs, tensors).data, expect)

    def patched(self, family: str, label: str, raw: bytes, expect: frozenset[str]) -> Case:
        """The base file with the field ``label`` overwritten by ``raw`` (same size)."""
        slot = self.layout.slot(label)
        assert len(raw) == slot.size, label
        data = self.layout.data
        patched = data[: slot.offset] + raw + data[slot.offset + slot.size :]
        return self.case(family, f"{label}={raw.hex()[:24]}", patched, expect)


def _vector(
    model: ModelSpec, layers: range, band: tuple[int, int] | None, seed: int
) -> SteeringVector:
    rng = np.random.default_rng(seed)
    directions = {}
    for layer in layers:
        direction = rng.standard_normal(model.n_embd).astype(np.float32)
        directions[layer] = direction / np.linalg.norm(direction) * 8
    return SteeringVector(
        role="en",
        language="ko",
        model=model,
        directions=directions,
        default_scale=4.0,
        band=band,
        method="mean-diff",
        normalization="unit",
    )


SMALL = ModelSpec("gemma3", 6, 16, "0123456789abcdef")
GEMMA = ModelSpec("gemma3", 18, 640, "fedcba9876543210")
_BASE_VECTORS = {
    "small3": _vector(SMALL, range(2, 5), (2, 4), 1),
    "small1": _vector(SMALL, range(5, 6), None, 2),
    "gemma": _vector(GEMMA, range(6, 10), (7, 8), 3),
}


@cache
def bases() -> tuple[Base, ...]:
    """The valid base files, written by ``vector_file.write``; the serializer must agree."""
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, vector in _BASE_VECTORS.items():
            path = vector_file.write(vector, Path(tmp) / f"{name}.gguf")
            kvs, tensors = decompose(path)
            layout = serialize(kvs, tensors)
            if layout.data != path.read_bytes():
                raise AssertionError(f"gguf_bytes does not reproduce {name}")
            found.append(Base(name, vector.model, kvs, tensors, layout))
    return tuple(found)


def _u32(value: int) -> bytes:
    return struct.pack("<I", value)


def _u64(value: int) -> bytes:
    return struct.pack("<Q", value)


def _labels(base: Base, suffix: str) -> list[str]:
    return [slot.label for slot in base.layout.slots if slot.label.endswith(suffix)]


def truncations(base: Base, rng: random.Random) -> Iterator[Case]:
    """The file cut at every field boundary, one byte into every field, and at random."""
    size = len(base.layout.data)
    cuts = {slot.offset for slot in base.layout.slots} | {
        slot.offset + 1 for slot in base.layout.slots if slot.size > 1
    }
    cuts |= {rng.randrange(size) for _ in range(8)}
    for cut in sorted(cut for cut in cuts if cut < size):
        yield base.case("truncated", f"at{cut}", base.layout.data[:cut], ERROR)


def magic_and_version(base: Base, rng: random.Random) -> Iterator[Case]:
    """Another magic; a version this reader does not know (2 has the same layout as 3)."""
    for magic in (b"GGUG", b"gguf", b"GGML", b"GGJT", b"\0\0\0\0", b"FUGG"):
        yield base.patched("magic", "magic", magic, ERROR)
    for version in (0, 1, 4, 0xFFFF, 0x03000000, 2**32 - 1):
        yield base.patched("version", "version", _u32(version), ERROR)
    yield base.patched("version", "version", _u32(2), VALID)


def counts(base: Base, rng: random.Random) -> Iterator[Case]:
    """Tensor and key counts off by one, by a thousand, or absurd."""
    for label, actual in (("n_tensors", len(base.tensors)), ("n_kv", len(base.kvs))):
        for value in (0, actual - 1, actual + 1, actual + 1000, *HUGE):
            if value != actual:
                yield base.patched("count", label, _u64(value), ERROR)


def lengths(base: Base, rng: random.Random) -> Iterator[Case]:
    """Every string length (keys, values, tensor names) off by one, to the end, or absurd."""
    for label in _labels(base, ".len"):
        slot = base.layout.slot(label)
        actual = struct.unpack("<Q", base.layout.data[slot.offset : slot.offset + 8])[0]
        left = len(base.layout.data) - slot.offset - 8
        for value in {0, actual - 1, actual + 1, left, left + 1, *HUGE} - {actual, -1}:
            yield base.patched("length", label, _u64(value), ERROR)


def value_types(base: Base, rng: random.Random) -> Iterator[Case]:
    """Key/value type codes that do not exist, or another real type (may still parse)."""
    for label in _labels(base, ".type"):
        if label.startswith("tensor"):
            continue
        for code in (13, 255, 2**31, 2**32 - 1):
            yield base.patched("value-type", label, _u32(code), ERROR)
        for code in rng.sample(VALUE_TYPES, 3):
            yield base.patched("value-type", label, _u32(code), ANY)


def tensor_infos(base: Base, rng: random.Random) -> Iterator[Case]:
    """Dimension counts, dimensions, ggml types and data offsets that do not fit the data."""
    n_embd = base.model.n_embd
    offsets = [
        struct.unpack("<Q", base.layout.data[s.offset : s.offset + 8])[0]
        for s in (base.layout.slot(label) for label in _labels(base, ".offset"))
    ]
    size = len(base.layout.data)
    for index, offset in enumerate(offsets):
        prefix = f"tensor{index}"
        for n_dims in (0, 2, 3, 4, 5, 2**32 - 1):
            yield base.patched("tensor-info", f"{prefix}.n_dims", _u32(n_dims), ERROR)
        for dim in (0, n_embd - 1, n_embd + 1, 2 * n_embd, *HUGE):
            yield base.patched("tensor-info", f"{prefix}.dim0", _u64(dim), ERROR)
        for kind in (F16, Q4_0, Q8_0, I32, BF16, 39, 9999, 2**32 - 1):
            yield base.patched("tensor-info", f"{prefix}.type", _u32(kind), ERROR)
        others = [other for other in offsets if other != offset]
        for value in {offset + 1, offset + 32, size, 2**63, 2**64 - 32, *others[:1]}:
            yield base.patched("tensor-info", f"{prefix}.offset", _u64(value), ERROR)


def floats(base: Base, rng: random.Random) -> Iterator[Case]:
    """NaN, infinities and absurd magnitudes inside a direction; an all-zero direction."""
    for value in BAD_FLOATS:
        index = rng.randrange(len(base.tensors))
        tensors = list(base.tensors)
        values = np.frombuffer(tensors[index].data, dtype="<f4").copy()
        values[rng.randrange(values.size)] = value
        tensors[index] = replace(tensors[index], data=values.tobytes())
        yield base.rebuilt("float", f"tensor{index}={value:g}", base.kvs, tensors, ERROR)
    tensors = [replace(t, data=bytes(len(t.data))) for t in base.tensors]
    yield base.rebuilt("float", "all-zero", base.kvs, tensors, VALID)


def padding_and_tail(base: Base, rng: random.Random) -> Iterator[Case]:
    """Non-zero padding (ignored, like llama.cpp does); bytes appended after the data."""
    slot = base.layout.slot("padding")
    if slot.size:
        garbage = bytes(rng.randrange(1, 256) for _ in range(slot.size))
        yield base.patched("padding", "padding", garbage, VALID)
    for extra in (1, 31):
        yield base.case("tail", f"+{extra}", base.layout.data + bytes(extra), VALID)
    for extra in (32, 4096):
        yield base.case("tail", f"+{extra}", base.layout.data + rng.randbytes(extra), ERROR)
    yield base.case("tail", "file-twice", base.layout.data * 2, ERROR)


def _with_kv(base: Base, kv: Kv) -> list[Kv]:
    """The base's key/values with ``kv`` replacing the key of the same name, or appended."""
    kvs = [old for old in base.kvs if old.key != kv.key]
    position = next((i for i, old in enumerate(base.kvs) if old.key == kv.key), len(kvs))
    return [*kvs[:position], kv, *kvs[position:]]


def _without(base: Base, key: str) -> list[Kv]:
    return [kv for kv in base.kvs if kv.key != key]


def hostile_keys(base: Base, rng: random.Random) -> Iterator[Case]:
    """Arrays that claim more items than the file holds, nested or untyped arrays, duplicate
    keys, bad alignments, keys that are not UTF-8, long or full of control characters."""
    size = len(base.layout.data)
    added = [  # (family, detail, key/value replacing or added to the base's, expected)
        ("array", "u8 x 2^40", Kv("x", ARRAY, _u32(UINT8) + _u64(2**40)), ERROR),
        ("array", "u8 x 2^64-1", Kv("x", ARRAY, _u32(UINT8) + _u64(2**64 - 1)), ERROR),
        ("array", "u8 x file size", Kv("x", ARRAY, _u32(UINT8) + _u64(size)), ERROR),
        ("array", "str x 2^40", Kv("x", ARRAY, _u32(STRING) + _u64(2**40)), ERROR),
        ("array", "nested", Kv("x", ARRAY, (_u32(ARRAY) + _u64(1)) * 200), ERROR),
        ("array", "item type 13", Kv("x", ARRAY, _u32(13) + _u64(1) + b"\0"), ERROR),
        ("array", "u8 x 65537", Kv("x", ARRAY, _u32(UINT8) + _u64(65537) + bytes(65537)), ERROR),
        ("array", "u32 x 3", Kv("x", ARRAY, (UINT32, [1, 2, 3])), VALID),
        ("array", "str x 2", Kv("x", ARRAY, (STRING, ["a", "b"])), VALID),
        *(
            ("alignment", str(value), Kv("general.alignment", UINT32, value), ERROR)
            for value in (0, 3, 48, 2**31)
        ),
        ("alignment", "string", Kv("general.alignment", STRING, "32"), ERROR),
        ("alignment", "u64", Kv("general.alignment", UINT64, 32), ERROR),
        ("alignment", "32", Kv("general.alignment", UINT32, 32), VALID),
        ("key", "not UTF-8", Kv("x\udcff", UINT8, 1), ERROR),
        ("key", "2000 bytes", Kv("k" * 2000, UINT8, 1), ERROR),
        ("key", "control characters", Kv("a\nb\x1b[2J", UINT8, 1), VALID),
        ("key", "empty", Kv("", UINT8, 1), VALID),
        ("key", "70000-byte value", Kv("surgsteer.method", STRING, "m" * 70000), ERROR),
    ]
    for family, detail, kv, expect in added:
        yield base.rebuilt(family, detail, _with_kv(base, kv), base.tensors, expect)
    duplicate = rng.choice(base.kvs)
    yield base.rebuilt(
        "key", f"duplicate {duplicate.key}", [*base.kvs, duplicate], base.tensors, ERROR
    )


def _f32(name: str, values: np.ndarray) -> Tensor:
    return Tensor(name, (values.size,), F32, values.astype("<f4").tobytes())


def directions(base: Base, rng: random.Random) -> Iterator[Case]:
    """direction.0, duplicate or non-decimal layers, layers past the model, wrong lengths,
    shapes and types, absurd norms, no tensors, foreign tensors."""
    n_layer, n_embd = base.model.n_layer, base.model.n_embd
    first, rest = base.tensors[0], base.tensors[1:]
    values = np.frombuffer(first.data, dtype="<f4")
    layer = int(first.name.split(".")[1])
    added = (
        "direction.0",
        first.name,
        f"direction.0{layer}",
        f"direction.{n_layer}",
        f"direction.{n_layer + 7}",
        f"direction.{2**31}",
        "direction.99999999999999999999999",
        "direction.-1",
        "direction.\u0661",
        "direction.1 ",
        "token_embd.weight",
        "",
    )
    for name in added:
        tensors = [*base.tensors, _f32(name, values)]
        yield base.rebuilt("tensor", f"add {name!r}", base.kvs, tensors, ERROR)
    replaced = [  # (detail, tensor replacing the first direction, or None to drop all)
        *((f"length {n}", _f32(first.name, np.ones(n))) for n in (0, 1, n_embd - 1, n_embd + 1)),
        *(
            (f"dims {dims}", replace(first, dims=dims))
            for dims in ((n_embd, 1), (1, n_embd), (n_embd // 2, 2), ())
        ),
        ("f16", replace(first, type=F16, data=values.astype("<f2").tobytes())),
        ("i32", replace(first, type=I32, data=values.astype("<i4").tobytes())),
        ("norm x 1e6", _f32(first.name, values * 1e6)),
        ("no tensors", None),
    ]
    for detail, tensor in replaced:
        tensors = [] if tensor is None else [tensor, *rest]
        yield base.rebuilt("tensor", detail, base.kvs, tensors, ERROR)


# (key, value type, replacement values that must be refused, accepted-or-refused values)
_KEYS: dict[str, tuple[int, tuple, tuple]] = {
    "general.architecture": (STRING, ("llama", "", "controlvector\0"), ()),
    "surgsteer.role": (STRING, ("EN", "xx", "", "en\n", "\x1b[31men", "e" * 5000), ("en",)),
    "surgsteer.language": (STRING, ("kor", "KO", "", "k", "k\u043e", "ko ", "k" * 5000), ("ko",)),
    "surgsteer.default_scale": (FLOAT32, BAD_FLOATS, (0.0, -4.0, 1e5)),
    "surgsteer.band_start": (UINT32, (0, 99, 2**32 - 1), (1,)),
    "surgsteer.band_end": (UINT32, (99, 2**32 - 1), ()),
    "surgsteer.model.n_layer": (UINT32, (0, 1), ()),
    "surgsteer.model.n_embd": (UINT32, (0, 1), ()),
}
_REQUIRED = (
    "general.architecture",
    "surgsteer.role",
    "surgsteer.language",
    "surgsteer.model.architecture",
    "surgsteer.model.n_layer",
    "surgsteer.model.n_embd",
    "surgsteer.model.fingerprint",
)
_WRONG_TYPES = {
    STRING: "12",
    UINT32: 7,
    INT32: -1,
    INT64: 2**40,
    FLOAT32: 1.5,
    FLOAT64: 2.0,
    BOOL: True,
    ARRAY: (UINT32, [1, 2]),
}
_COMPATIBLE = {
    STRING: {STRING},
    UINT32: {UINT32, INT32, INT64},
    FLOAT32: {FLOAT32, FLOAT64, UINT32, INT32, INT64},
}


def metadata(base: Base, rng: random.Random) -> Iterator[Case]:
    """Missing required keys, missing optional ones (a warning or a silent default),
    wrong-typed keys, and values that are out of range."""
    tensors = base.tensors
    for key in _REQUIRED:
        yield base.rebuilt("missing", key, _without(base, key), tensors, ERROR)
    for key, expect in (
        ("surgsteer.default_scale", WARNING),
        ("surgsteer.version", WARNING),
        ("surgsteer.method", VALID),
        ("surgsteer.normalization", VALID),
    ):
        yield base.rebuilt("missing", key, _without(base, key), tensors, expect)
    has_band = any(kv.key == "surgsteer.band_start" for kv in base.kvs)
    if has_band:
        for key in ("surgsteer.band_start", "surgsteer.band_end"):
            yield base.rebuilt("missing", key, _without(base, key), tensors, ERROR)
        kvs = [kv for kv in base.kvs if not kv.key.startswith("surgsteer.band_")]
        yield base.rebuilt("missing", "band", kvs, tensors, VALID)
    for kv in base.kvs:
        if not kv.key.startswith("surgsteer."):
            continue
        compatible = _COMPATIBLE.get(kv.type, {kv.type})
        for kind, value in _WRONG_TYPES.items():
            if kind != kv.type:
                expect = ANY if kind in compatible else ERROR
                replaced = _with_kv(base, Kv(kv.key, kind, value))
                yield base.rebuilt("wrong-type", f"{kv.key}:{kind}", replaced, tensors, expect)
    for key, (kind, refused, accepted) in _KEYS.items():
        if key.startswith("surgsteer.band_") and not has_band:
            continue
        for value, expect in chain(((v, ERROR) for v in refused), ((v, VALID) for v in accepted)):
            replaced = _with_kv(base, Kv(key, kind, value))
            yield base.rebuilt("value", f"{key}={value!r}", replaced, tensors, expect)
    if has_band:
        start, end = _band(base)
        inverted = _with_kv(base, Kv("surgsteer.band_start", UINT32, end))
        inverted = [
            kv if kv.key != "surgsteer.band_end" else replace(kv, value=start) for kv in inverted
        ]
        yield base.rebuilt(
            "value", "band-inverted", inverted, tensors, ERROR if start != end else VALID
        )
        outside = [t for t in tensors if not start <= int(t.name.split(".")[1]) <= end]
        inside = [t for t in tensors if t not in outside]
        yield base.rebuilt(
            "value", "band-without-directions", base.kvs, outside or tensors[:0], ERROR
        )
        yield base.rebuilt("value", "only-band-directions", base.kvs, inside, VALID)


def _band(base: Base) -> tuple[int, int]:
    values = {kv.key: kv.value for kv in base.kvs}
    return values["surgsteer.band_start"], values["surgsteer.band_end"]


def other_models(base: Base, rng: random.Random) -> Iterator[Case]:
    """A well-formed vector made for another model: every identity field differs in turn."""
    spec = base.model
    changes = {
        "surgsteer.model.fingerprint": (STRING, "0000000000000000"),
        "surgsteer.model.architecture": (STRING, "llama"),
        "surgsteer.model.n_layer": (UINT32, spec.n_layer + 8),
    }
    for key, (kind, value) in changes.items():
        yield base.rebuilt(
            "other-model", key, _with_kv(base, Kv(key, kind, value)), base.tensors, MISMATCH
        )
    wider = spec.n_embd * 2
    kvs = _with_kv(base, Kv("surgsteer.model.n_embd", UINT32, wider))
    tensors = [_f32(t.name, np.full(wider, 0.1)) for t in base.tensors]
    yield base.rebuilt("other-model", "n_embd", kvs, tensors, MISMATCH)


def random_damage(base: Base, rng: random.Random) -> Case:
    """One to four random edits: bit flips, byte overwrites, field overwrites, cuts, inserts."""
    data = bytearray(base.layout.data)
    edits = []
    for _ in range(rng.randint(1, 4)):
        edit = rng.choice(("flip", "byte", "field", "cut", "insert", "delete"))
        position = rng.randrange(len(data))
        if edit == "flip":
            data[position] ^= 1 << rng.randrange(8)
        elif edit == "byte":
            data[position] = rng.randrange(256)
        elif edit == "field":
            slot = rng.choice(base.layout.slots)
            if slot.offset + slot.size <= len(data) and slot.size in (4, 8):
                value = rng.choice((0, 1, 2**31, 2**64 - 1, rng.getrandbits(64)))
                data[slot.offset : slot.offset + slot.size] = (
                    value % 2 ** (8 * slot.size)
                ).to_bytes(slot.size, "little")
        elif edit == "cut":
            del data[position:]
        elif edit == "insert":
            data[position:position] = rng.randbytes(rng.randint(1, 64))
        else:
            del data[position : position + rng.randint(1, 64)]
        edits.append(f"{edit}@{position}")
        if not data:
            break
    return base.case("random_damage/bytes", "+".join(edits), bytes(data), ANY)


FAMILIES: tuple[Callable[[Base, random.Random], Iterator[Case]], ...] = (
    truncations,
    magic_and_version,
    counts,
    lengths,
    value_types,
    tensor_infos,
    floats,
    padding_and_tail,
    hostile_keys,
    directions,
    metadata,
    other_models,
)


def deterministic_cases(seed: int) -> list[list[Case]]:
    """Every family's cases for every base, one list per (family, base), shuffled by ``seed``."""
    groups = []
    for family in FAMILIES:
        for base in bases():
            rng = random.Random(f"{seed}/{family.__name__}/{base.name}")
            group = [replace(c, name=f"{family.__name__}/{c.name}") for c in family(base, rng)]
            rng.shuffle(group)
            groups.append(group)
    return groups


def generate(count: int, seed: int = 0) -> list[Case]:
    """``count`` cases: a tenth (at least) seeded random damage, the rest round-robin over
    every (family, base) group so that a small count still covers every family."""
    groups = deterministic_cases(seed)
    interleaved = [case for row in zip_longest(*groups) for case in row if case]
    cases = interleaved[: count - count // 10]
    rng = random.Random(f"{seed}/random")
    while len(cases) < count:
        cases.append(random_damage(rng.choice(bases()), rng))
    return cases
