"""Quantize a GGUF model with llama.cpp's quantizer, from float weights.

Quantizing an already quantized model would compound two rounding errors, so a quantized
source is first dequantized to F16 with gguf-py: every metadata key is copied (with
``general.file_type`` set to F16), F32 tensors (norms and other 1-D weights, which llama.cpp
keeps in F32) stay F32, and each quantized tensor is expanded to F16. Quantization leaves the
model's fingerprint unchanged, so one set of steering vectors serves every output; each
output's fingerprint is checked against the source's.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from surgsteer_cli.cpus import available_cpus
from surgsteer_cli.engine import last_llama_error, silence_llama_logs
from surgsteer_cli.errors import ModelLoadError, SurgsteerError
from surgsteer_cli.model_spec import fingerprint
from surgsteer_cli.models import model_metadata

TYPES = (
    "F16", "BF16", "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q5_1", "Q5_0",
    "Q4_K_M", "Q4_K_S", "Q4_1", "Q4_0", "Q3_K_L", "Q3_K_M", "Q3_K_S", "Q2_K",
)  # fmt: skip
"""Target types that need no importance matrix."""
_FLOAT_TENSORS = ("F32", "F16", "BF16")
_QUANT_SUFFIX = re.compile(r"[-_.](?:[QqIi][Qq]?\d\w*|[Ff]16|[Ff]32|[Bb][Ff]16)$")
_F16_FILE_TYPE = 1  # llama_ftype LLAMA_FTYPE_MOSTLY_F16
_SCRATCH_PREFIX = ".quantize-"
_PARTIAL_SUFFIX = ".partial"


def output_path(source: Path, type_name: str, directory: Path) -> Path:
    """``<source name without its quantization tag>-<TYPE>.gguf`` in ``directory``."""
    return directory / f"{_QUANT_SUFFIX.sub('', source.stem)}-{type_name}.gguf"


def quantize(
    source: Path,
    types: Sequence[str],
    directory: Path,
    *,
    threads: int | None = None,
    notify: Callable[[str], None] = lambda message: None,
    keep_existing: bool = False,
) -> list[Path]:
    """Write one quantization of ``source`` per type into ``directory``; return their paths.
    ``threads``: the quantizer's CPU threads [default: the CPUs not busy with other work].
    ``keep_existing``: an output already there with the source's fingerprint and the type's
    ``general.file_type`` is kept, not made again (outputs appear only whole, see
    ``_llama_quantize``)."""
    unknown = [name for name in types if name not in TYPES]
    if unknown:
        raise SurgsteerError(f"unknown type {', '.join(unknown)}; choose from {', '.join(TYPES)}")
    expected = fingerprint(model_metadata(source))
    directory.mkdir(parents=True, exist_ok=True)
    outputs = {name: output_path(source, name, directory) for name in types}
    with (
        _exclusive(directory),
        tempfile.TemporaryDirectory(dir=directory, prefix=_SCRATCH_PREFIX) as scratch,
    ):
        todo = [
            name
            for name, target in outputs.items()
            if not (keep_existing and _is_output(target, name, expected))
        ]
        for name in outputs.keys() - todo:
            notify(f"keeping {outputs[name]}: already quantized to {name}")
        base = source
        reader = gguf_reader(source) if todo else None
        if todo and is_quantized(reader):
            notify(f"{source.name} is quantized: dequantizing it to F16 with gguf-py first")
            base = dequantize_to_f16(reader, Path(scratch) / "f16.gguf")
        for name in todo:
            target = outputs[name]
            notify(f"quantizing to {name}: {target}")
            _llama_quantize(base, target, name, threads)
            found = fingerprint(model_metadata(target))
            if found != expected:
                raise SurgsteerError(f"{target}: fingerprint {found} differs from {expected}")
    return list(outputs.values())


def _is_output(path: Path, type_name: str, expected: str) -> bool:
    """Whether ``path`` is a whole quantization to ``type_name`` of the model ``expected``
    fingerprints."""
    import llama_cpp

    if not path.is_file():
        return False
    metadata = model_metadata(path)
    file_type = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{type_name}")
    return metadata.get("general.file_type") == str(file_type) and fingerprint(metadata) == expected


@contextlib.contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    """Hold a lock on ``directory`` (flock), and remove what killed runs left there: with the
    lock held, no other run owns a scratch folder or a partial output in it."""
    lock = os.open(directory, os.O_RDONLY)
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SurgsteerError(f"another quantize run is writing into {directory}") from None
        for leftover in directory.glob(f"{_SCRATCH_PREFIX}*"):
            shutil.rmtree(leftover, ignore_errors=True)
        for leftover in directory.glob(f".*{_PARTIAL_SUFFIX}"):
            leftover.unlink(missing_ok=True)
        yield
    finally:
        os.close(lock)  # releases the lock


def is_quantized(reader: Any) -> bool:
    """Whether any tensor of the model (a ``gguf.GGUFReader``) is stored quantized."""
    return any(t.tensor_type.name not in _FLOAT_TENSORS for t in reader.tensors)


def dequantize_to_f16(reader: Any, target: Path) -> Path:
    """Copy the model behind ``reader`` (a ``gguf.GGUFReader``) to ``target`` with every
    quantized tensor expanded to F16."""
    import gguf

    arch = str(reader.fields["general.architecture"].contents())
    writer = gguf.GGUFWriter(target, arch=arch, endianess=reader.endianess)
    for field in reader.fields.values():
        if field.name == "general.architecture" or field.name.startswith("GGUF."):
            continue  # written by GGUFWriter itself
        value = _F16_FILE_TYPE if field.name == "general.file_type" else field.contents()
        sub_type = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, value, field.types[0], sub_type=sub_type)
    for tensor in reader.tensors:
        if tensor.tensor_type.name in _FLOAT_TENSORS:
            data = tensor.data
            writer.add_tensor_info(
                tensor.name, data.shape, data.dtype, data.nbytes, tensor.tensor_type
            )
        else:
            shape = gguf.quant_shape_from_byte_shape(tensor.data.shape, tensor.tensor_type)
            dtype = np.float16 if len(shape) > 1 else np.float32
            nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
            writer.add_tensor_info(tensor.name, shape, np.dtype(dtype), nbytes)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for tensor in reader.tensors:
        data = tensor.data
        if tensor.tensor_type.name not in _FLOAT_TENSORS:
            values = gguf.quants.dequantize(data, tensor.tensor_type)
            data = values.astype(np.float16 if values.ndim > 1 else np.float32)
        writer.write_tensor_data(data)
    writer.close()
    return target


def _llama_quantize(source: Path, target: Path, type_name: str, threads: int | None) -> None:
    """Run llama.cpp's quantizer into a temporary file, then move it into place."""
    import llama_cpp

    silence_llama_logs()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{type_name}")
    params.nthread = threads or available_cpus()
    partial = target.with_name(f".{target.name}{_PARTIAL_SUFFIX}")
    try:
        status = _in_worker(
            lambda: llama_cpp.llama_model_quantize(
                str(source).encode(), str(partial).encode(), ctypes.byref(params)
            )
        )
        if status != 0:
            detail = last_llama_error() or f"status {status}"
            raise SurgsteerError(f"llama.cpp could not quantize to {type_name}: {detail}")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _in_worker(call: Callable[[], int]) -> int:
    """Run ``call`` (C code that logs through a Python callback) on a worker thread, so that
    Ctrl-C reaches this thread as KeyboardInterrupt instead of being raised, and dropped,
    inside the callback. On Ctrl-C the worker is abandoned: it dies with the process."""
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(call()), daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(timeout=0.1)
    if not result:
        raise SurgsteerError("llama.cpp's quantizer stopped without a result")
    return result[0]


def gguf_reader(path: Path) -> Any:
    """A ``gguf.GGUFReader`` for ``path`` (parsing a 262k-token vocabulary takes a while)."""
    import gguf

    try:
        return gguf.GGUFReader(path, "r")
    except Exception as exc:  # gguf-py raises many types on malformed input
        raise ModelLoadError(f"{path}: not a readable GGUF model ({exc})") from None
