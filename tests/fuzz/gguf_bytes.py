"""A GGUF serializer that records where every field lands, and its inverse for valid files.

The fuzzer edits files at two levels: meaning (keys, tensors), by editing the decomposed form
and serializing it again, and bytes, by overwriting or cutting at the recorded field offsets.
``serialize(*decompose(path))`` reproduces a file written by ``vector_file.write`` byte for byte
(a test checks it), so the layout model here is GGUF's, not a guess.

Layout: magic, version u32, n_tensors u64, n_kv u64; each key/value: key (u64 length + UTF-8),
value type u32, value (scalar, string, or array: item type u32, count u64, items); each tensor
info: name, n_dims u32, dims u64[n_dims], ggml type u32, data offset u64; zero padding to the
alignment; tensor data, each padded to the alignment.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

ALIGNMENT = 32
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL = range(8)
STRING, ARRAY, UINT64, INT64, FLOAT64 = range(8, 13)
VALUE_TYPES = tuple(range(13))
F32, F16, Q4_0, Q8_0, I32, BF16 = 0, 1, 2, 8, 26, 30
_PACK = {
    UINT8: "<B",
    INT8: "<b",
    UINT16: "<H",
    INT16: "<h",
    UINT32: "<I",
    INT32: "<i",
    FLOAT32: "<f",
    BOOL: "<?",
    UINT64: "<Q",
    INT64: "<q",
    FLOAT64: "<d",
}


@dataclass(frozen=True)
class Kv:
    """One key/value. An array's value is (item type, items); ``bytes`` is written verbatim."""

    key: str
    type: int
    value: object


@dataclass(frozen=True)
class Tensor:
    """One tensor: dims as stored (innermost first), ggml type, raw data bytes."""

    name: str
    dims: tuple[int, ...]
    type: int
    data: bytes


@dataclass(frozen=True)
class Slot:
    """Where one field was written: ``label`` like ``kv3.value.len`` or ``tensor1.offset``."""

    label: str
    offset: int
    size: int


@dataclass
class Layout:
    """Serialized bytes and the slot of every field in them."""

    data: bytes = b""
    slots: list[Slot] = field(default_factory=list)

    def slot(self, label: str) -> Slot:
        """The slot called ``label``."""
        return next(slot for slot in self.slots if slot.label == label)


class _Writer:
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.slots: list[Slot] = []

    def put(self, label: str, raw: bytes) -> None:
        self.slots.append(Slot(label, len(self.buffer), len(raw)))
        self.buffer += raw

    def text(self, label: str, text: str) -> None:
        raw = text.encode("utf-8", errors="surrogateescape")
        self.put(f"{label}.len", struct.pack("<Q", len(raw)))
        self.put(label, raw)

    def value(self, label: str, kind: int, value: object) -> None:
        if isinstance(value, bytes):
            self.put(label, value)
        elif kind == STRING:
            self.text(label, str(value))
        elif kind == ARRAY:
            item, items = value
            self.put(f"{label}.item_type", struct.pack("<I", item))
            self.put(f"{label}.count", struct.pack("<Q", len(items)))
            for index, element in enumerate(items):
                self.value(f"{label}[{index}]", item, element)
        else:
            self.put(label, struct.pack(_PACK[kind], value))

    def pad(self, label: str) -> None:
        self.put(label, bytes(padding(len(self.buffer))))


def padding(size: int, alignment: int = ALIGNMENT) -> int:
    """Zero bytes that bring ``size`` up to a multiple of ``alignment``."""
    return -size % alignment


def serialize(kvs: list[Kv], tensors: list[Tensor], *, version: int = 3) -> Layout:
    """GGUF bytes for ``kvs`` and ``tensors`` (contiguous data, default alignment)."""
    writer = _Writer()
    writer.put("magic", b"GGUF")
    writer.put("version", struct.pack("<I", version))
    writer.put("n_tensors", struct.pack("<Q", len(tensors)))
    writer.put("n_kv", struct.pack("<Q", len(kvs)))
    for index, kv in enumerate(kvs):
        writer.text(f"kv{index}.key", kv.key)
        writer.put(f"kv{index}.type", struct.pack("<I", kv.type))
        writer.value(f"kv{index}.value", kv.type, kv.value)
    offset = 0
    for index, tensor in enumerate(tensors):
        writer.text(f"tensor{index}.name", tensor.name)
        writer.put(f"tensor{index}.n_dims", struct.pack("<I", len(tensor.dims)))
        for axis, dim in enumerate(tensor.dims):
            writer.put(f"tensor{index}.dim{axis}", struct.pack("<Q", dim))
        writer.put(f"tensor{index}.type", struct.pack("<I", tensor.type))
        writer.put(f"tensor{index}.offset", struct.pack("<Q", offset))
        offset += len(tensor.data) + padding(len(tensor.data))
    writer.pad("padding")
    for index, tensor in enumerate(tensors):
        writer.put(f"data{index}", tensor.data)
        writer.pad(f"data{index}.padding")
    return Layout(bytes(writer.buffer), writer.slots)


def decompose(path: Path) -> tuple[list[Kv], list[Tensor]]:
    """Key/values and tensors of a valid GGUF file, in file order."""
    import gguf

    reader = gguf.GGUFReader(path)
    kvs = []
    for name, reader_field in reader.fields.items():
        if name.startswith("GGUF."):
            continue
        kind = int(reader_field.types[0])
        value = reader_field.contents()
        if kind == ARRAY:
            value = (int(reader_field.types[-1]), value)
        kvs.append(Kv(name, kind, value))
    tensors = [
        Tensor(t.name, tuple(int(d) for d in t.shape), int(t.tensor_type), t.data.tobytes())
        for t in reader.tensors
    ]
    return kvs, tensors
