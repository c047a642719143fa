"""Stock llama.cpp tools (``llama-completion``, ``llama-cvector-generator``; ``llama-server``
on request) built from the llama.cpp that the installed llama-cpp-python's sdist vendors: the
reference for what llama.cpp's own loader does with surgsteer's vector files.

The build is cached in ``<cache>/llama.cpp-<version>/bin`` (``…-server/bin`` for the server;
``~/.cache/surgsteer`` unless ``$SURGSTEER_HOME`` or ``$XDG_CACHE_HOME`` say otherwise). It
happens in a temporary folder beside it that is renamed into place when complete, under a file
lock, so a killed build leaves nothing half-made and concurrent callers build once. A test and
benchmark tool outside the installed package: the runtime never calls it.

    python -m benchmarks.stock_llama_cpp [--jobs 2] [--version 0.3.36] [--server]

builds (or finds) the tools and says where they are and how long it took.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from surgsteer_cli.paths import cache_dir

PACKAGE = "llama-cpp-python"
# Static binaries (they survive the rename), CPU only, nothing fetched at configure time.
CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_APP=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
)


@dataclass(frozen=True)
class Toolset:
    """Binaries built together into one cache folder (``llama.cpp-<version><suffix>``)."""

    targets: tuple[str, ...]
    suffix: str = ""
    server: bool = False

    @property
    def flags(self) -> tuple[str, ...]:
        server = f"-DLLAMA_BUILD_SERVER={'ON' if self.server else 'OFF'}"
        return (*CMAKE_FLAGS, *cpu_flags(), server)


CPU_FEATURES = ("AVX", "AVX_VNNI", "AVX2", "F16C", "FMA", "BMI2", "AVX512", "AVX512_VNNI")


def cpu_flags() -> tuple[str, ...]:
    """The CPU features the installed llama-cpp-python was built with, as ggml's CMake flags
    (not ``-march=native``): the stock tools then run the same kernels, and none that the
    machine advertises but cannot run (AMX on some virtual machines: SIGILL)."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode(errors="replace")
    enabled = {part.split("=")[0].strip() for part in info.split("|") if part.strip().endswith("1")}
    enabled = {name.removeprefix("CPU : ") for name in enabled}
    return (
        "-DGGML_NATIVE=OFF",
        *(f"-DGGML_{name}={'ON' if name in enabled else 'OFF'}" for name in CPU_FEATURES),
    )


TOOLS = Toolset(("llama-completion", "llama-cvector-generator"))
# 5-6 minutes on two cores (docs/results/stock-llama-server-build.txt); tests do not build it.
SERVER = Toolset(("llama-server",), suffix="-server", server=True)


class BuildError(RuntimeError):
    """Downloading, configuring or compiling llama.cpp failed; the message ends with the log."""


def pinned_version() -> str:
    """The installed llama-cpp-python version: the llama.cpp that surgsteer itself runs."""
    return importlib.metadata.version(PACKAGE)


def bin_dir(version: str | None = None, tools: Toolset = TOOLS) -> Path:
    """Where ``tools`` of ``version`` (default: the installed one) are cached."""
    return cache_dir() / f"llama.cpp-{version or pinned_version()}{tools.suffix}" / "bin"


def missing_tools() -> list[str]:
    """Build tools that are not on PATH: cmake and a C++ compiler."""
    missing = [] if shutil.which("cmake") else ["cmake"]
    if not any(shutil.which(name) for name in (os.environ.get("CXX", "c++"), "g++", "clang++")):
        missing.append("a C++ compiler")
    return missing


def is_built(version: str | None = None, tools: Toolset = TOOLS) -> bool:
    """Whether every target of ``tools`` for ``version`` is already in the cache."""
    directory = bin_dir(version, tools)
    return all((directory / target).is_file() for target in tools.targets)


def build(version: str | None = None, *, jobs: int = 2, tools: Toolset = TOOLS) -> Path:
    """The cached bin dir holding ``tools`` for ``version``, built first if needed."""
    version = version or pinned_version()
    final = bin_dir(version, tools).parent
    final.parent.mkdir(parents=True, exist_ok=True)
    with _locked(final.with_name(final.name + ".lock")):
        if not is_built(version, tools):
            with tempfile.TemporaryDirectory(prefix=f".{final.name}.", dir=final.parent) as tmp:
                staged = _build_in(Path(tmp), version, jobs, tools)
                shutil.rmtree(final, ignore_errors=True)  # an incomplete copy from elsewhere
                os.rename(staged, final)
    return bin_dir(version, tools)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_in(work: Path, version: str, jobs: int, tools: Toolset) -> Path:
    """Download the sdist into ``work``, build the targets there; return ``work/out``."""
    log = work / "build.log"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"{PACKAGE}=={version}",
            "-d",
            str(work / "sdist"),
        ],
        log,
    )
    (archive,) = (work / "sdist").glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(work / "src", filter="data")
    (source,) = (work / "src").glob("*/vendor/llama.cpp")
    build_dir = work / "build"
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    _run(["cmake", "-S", str(source), "-B", str(build_dir), *generator, *tools.flags], log)
    _run(
        ["cmake", "--build", str(build_dir), "--target", *tools.targets, "--parallel", str(jobs)],
        log,
    )
    out = work / "out"
    (out / "bin").mkdir(parents=True)
    for target in tools.targets:
        shutil.copy2(build_dir / "bin" / target, out / "bin" / target)
    (out / "VERSION").write_text(f"{PACKAGE} {version} (vendor/llama.cpp)\n")
    return out


def _run(command: list[str], log: Path) -> None:
    with log.open("a") as handle:
        handle.write(f"$ {' '.join(command)}\n")
        handle.flush()
        done = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-4000:]
        raise BuildError(f"{command[0]} failed (exit {done.returncode}):\n{tail}")


def main() -> None:
    """The command line (module doc)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="parallel compile jobs [2]")
    parser.add_argument("--version", help=f"{PACKAGE} version [the installed one]")
    parser.add_argument("--server", action="store_true", help="build llama-server instead")
    args = parser.parse_args()
    tools = SERVER if args.server else TOOLS
    missing = missing_tools()
    if missing:
        sys.exit(f"Error: cannot build llama.cpp: {' and '.join(missing)} not found")
    started = time.perf_counter()
    cached = is_built(args.version, tools)
    directory = build(args.version, jobs=args.jobs, tools=tools)
    elapsed = time.perf_counter() - started
    what = "already built" if cached else f"built in {elapsed / 60:.1f} min with {args.jobs} jobs"
    print(f"{directory} ({what})")


if __name__ == "__main__":
    main()
