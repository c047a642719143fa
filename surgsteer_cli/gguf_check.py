"""Bounds checks on a GGUF file's layout, run before gguf-py is allowed to parse it.

gguf-py trusts the counts and lengths a header declares: an array that claims 2**40 items past
the end of the file makes its reader loop, allocating, for ever. ``check_layout`` walks the
header with every count, length and offset checked against the bytes actually present (and
against limits no steering vector comes near), so a hostile file fails fast, in bounded memory,
with a one-line message. It checks structure only; what the keys and tensors mean is
``vector_file``'s business.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

from surgsteer_cli.errors import VectorFileError

MAX_KEYS = 1024
MAX_TENSORS = 4096
MAX_ARRAY_ITEMS = 65536
MAX_KEY_BYTES = 1024
MAX_STRING_BYTES = 65536
MAX_NAME_BYTES = 64  # GGML_MAX_NAME
MAX_DIMS = 4  # GGML_MAX_DIMS
VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32

# GGUF value types (the spec's numbering): bytes per scalar; 8 is a string, 9 an array.
_SCALAR_BYTES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_UINT32, _STRING, _ARRAY = 4, 8, 9
_ALIGNMENT_KEY = "general.alignment"


class _Cursor:
    """Reads little-endian fields from a buffer, refusing to step past its end."""

    def __init__(self, buffer: mmap.mmap) -> None:
        self.buffer = buffer
        self.pos = 0

    @property
    def left(self) -> int:
        return len(self.buffer) - self.pos

    def take(self, n: int, what: str) -> bytes:
        if n > self.left:
            raise VectorFileError(
                f"malformed GGUF: {what} at byte {self.pos} needs {n} bytes, "
                f"only {self.left} left in the file"
            )
        self.pos += n
        return self.buffer[self.pos - n : self.pos]

    def u32(self, what: str) -> int:
        return struct.unpack("<I", self.take(4, what))[0]

    def u64(self, what: str) -> int:
        return struct.unpack("<Q", self.take(8, what))[0]

    def text(self, what: str, limit: int) -> str:
        length = self.u64(f"length of {what}")
        if length > limit:
            raise VectorFileError(f"malformed GGUF: {what} declares {length} bytes (limit {limit})")
        try:
            return self.take(length, what).decode("utf-8")
        except UnicodeDecodeError:
            raise VectorFileError(f"malformed GGUF: {what} is not UTF-8") from None


def _quote(name: str) -> str:
    """``name`` quoted for a message, cut short when a hostile file makes it long."""
    return repr(name) if len(name) <= 40 else f"{name[:40]!r}..."


def check_layout(path: Path) -> None:
    """Raise VectorFileError unless ``path`` is a structurally sound little-endian GGUF file."""
    with path.open("rb") as handle:
        if path.stat().st_size == 0:
            raise VectorFileError("malformed GGUF: the file is empty")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buffer:
            _check(_Cursor(buffer))


def _check(cursor: _Cursor) -> None:
    if cursor.take(4, "magic") != b"GGUF":
        raise VectorFileError("malformed GGUF: bad magic")
    version = cursor.u32("version")
    if version not in VERSIONS:
        raise VectorFileError(f"malformed GGUF: unsupported version {version}")
    n_tensors = cursor.u64("tensor count")
    n_keys = cursor.u64("key count")
    if n_keys > MAX_KEYS or n_tensors > MAX_TENSORS:
        raise VectorFileError(
            f"malformed GGUF: declares {n_keys} keys and {n_tensors} tensors "
            f"(limits {MAX_KEYS} and {MAX_TENSORS})"
        )
    alignment = _check_keys(cursor, n_keys)
    tensors = [_tensor_extent(cursor, index, alignment) for index in range(n_tensors)]
    _check_data(cursor, tensors, alignment)


def _check_keys(cursor: _Cursor, count: int) -> int:
    """Walk ``count`` key/values; return the data alignment they declare (default 32)."""
    alignment = DEFAULT_ALIGNMENT
    seen: set[str] = set()
    for index in range(count):
        key = cursor.text(f"key {index}", MAX_KEY_BYTES)
        if key in seen:
            raise VectorFileError(f"malformed GGUF: duplicate key {_quote(key)}")
        seen.add(key)
        kind = _value_type(cursor.u32(f"type of {_quote(key)}"), key)
        if key == _ALIGNMENT_KEY:
            if kind != _UINT32:
                raise VectorFileError(f"malformed GGUF: {_ALIGNMENT_KEY} is not a uint32")
            alignment = cursor.u32(_ALIGNMENT_KEY)
            if alignment == 0 or alignment & (alignment - 1):
                raise VectorFileError(f"malformed GGUF: alignment {alignment} is not a power of 2")
        else:
            _skip_value(cursor, kind, key)
    return alignment


def _value_type(raw: int, key: str) -> int:
    if raw not in _SCALAR_BYTES and raw not in (_STRING, _ARRAY):
        raise VectorFileError(f"malformed GGUF: {_quote(key)} has unknown value type {raw}")
    return raw


def _skip_value(cursor: _Cursor, kind: int, key: str) -> None:
    if kind == _STRING:
        cursor.text(f"value of {_quote(key)}", MAX_STRING_BYTES)
    elif kind == _ARRAY:
        item = _value_type(cursor.u32(f"item type of {_quote(key)}"), key)
        count = cursor.u64(f"item count of {_quote(key)}")
        if item == _ARRAY:
            raise VectorFileError(f"malformed GGUF: {_quote(key)} is a nested array")
        smallest = 8 if item == _STRING else _SCALAR_BYTES[item]
        if count > MAX_ARRAY_ITEMS or count * smallest > cursor.left:
            raise VectorFileError(f"malformed GGUF: {_quote(key)} declares {count} items")
        for _ in range(count):
            _skip_value(cursor, item, key)
    else:
        cursor.take(_SCALAR_BYTES[kind], f"value of {_quote(key)}")


def _tensor_extent(cursor: _Cursor, index: int, alignment: int) -> tuple[str, int, int]:
    """Walk one tensor info; return (name, data offset, data bytes)."""
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    name = cursor.text(f"name of tensor {index}", MAX_NAME_BYTES)
    n_dims = cursor.u32(f"dimension count of {_quote(name)}")
    if n_dims > MAX_DIMS:
        raise VectorFileError(f"malformed GGUF: tensor {_quote(name)} has {n_dims} dimensions")
    n_elements = 1
    for _ in range(n_dims):
        n_elements *= cursor.u64(f"dimension of {_quote(name)}")
    raw_type = cursor.u32(f"type of {_quote(name)}")
    try:
        block, type_bytes = GGML_QUANT_SIZES[GGMLQuantizationType(raw_type)]
    except (ValueError, KeyError):
        raise VectorFileError(
            f"malformed GGUF: tensor {_quote(name)} has unknown type {raw_type}"
        ) from None
    if n_elements % block:
        raise VectorFileError(
            f"malformed GGUF: tensor {_quote(name)} is not a whole number of blocks"
        )
    offset = cursor.u64(f"offset of {_quote(name)}")
    if offset % alignment:
        raise VectorFileError(f"malformed GGUF: tensor {_quote(name)} is not aligned")
    return name, offset, n_elements // block * type_bytes


def _check_data(cursor: _Cursor, tensors: list[tuple[str, int, int]], alignment: int) -> None:
    """Tensor data must lie inside the file, not overlap, and end where the file ends."""
    if not tensors:
        return
    start = -(-cursor.pos // alignment) * alignment
    available = len(cursor.buffer) - start
    names: set[str] = set()
    end = 0
    for name, offset, size in sorted(tensors, key=lambda tensor: tensor[1]):
        if name in names:
            raise VectorFileError(f"malformed GGUF: duplicate tensor {_quote(name)}")
        names.add(name)
        if offset < end:
            raise VectorFileError(f"malformed GGUF: tensor {_quote(name)} overlaps another tensor")
        end = offset + size
        if end > available:
            raise VectorFileError(
                f"malformed GGUF: tensor {_quote(name)} runs past the end of the file"
            )
    if available - end >= alignment:
        raise VectorFileError(
            f"malformed GGUF: {available - end} unexpected bytes after the tensor data"
        )
