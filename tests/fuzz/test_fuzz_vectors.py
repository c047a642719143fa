"""Malformed and hostile vector files fail with one clean line: no traceback, no hang, bounded
memory. ``SURGSTEER_FUZZ_CASES`` (default 200) and ``SURGSTEER_FUZZ_SEED`` pick the cases; the
full run is ``SURGSTEER_FUZZ_CASES=5000 python -m pytest tests/fuzz -q``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from surgsteer_cli import vector_file
from surgsteer_cli.errors import VectorFileError
from tests.fuzz.outcomes import TIMEOUT_S, Result, Tally, read_and_check, time_limit
from tests.fuzz.vector_cases import FAMILIES, Case, generate

CASES = generate(
    int(os.environ.get("SURGSTEER_FUZZ_CASES", "200")),
    int(os.environ.get("SURGSTEER_FUZZ_SEED", "0")),
)
MAX_TRACED_BYTES = 16 * 2**20
MAX_MESSAGE_CHARS = 400


def problems(case: Case, result: Result) -> list[str]:
    """What is wrong with how ``case`` was handled (nothing, for a clean failure)."""
    found = []
    if result.outcome not in case.expect:
        found.append(
            f"{result.outcome} (expected {'/'.join(sorted(case.expect))}): {result.message}"
        )
    if "\n" in result.message or not result.message.isprintable():
        found.append(f"message is not one printable line: {result.message!r}")
    if len(result.message) > MAX_MESSAGE_CHARS:
        found.append(f"message has {len(result.message)} characters")
    if result.peak_traced > MAX_TRACED_BYTES:
        found.append(f"allocated {result.peak_traced / 2**20:.0f} MiB")
    return found


@pytest.mark.parametrize("family", sorted({case.family for case in CASES}))
def test_hostile_vector_files_fail_cleanly(family: str, tmp_path: Path, fuzz_tally: Tally) -> None:
    path = tmp_path / "vector.gguf"
    failures = []
    for case in (case for case in CASES if case.family == family):
        path.write_bytes(case.data)
        result = read_and_check(path, case.model)
        found = problems(case, result)
        fuzz_tally.add(result, clean=not found)
        failures += [f"{case.name}: {problem}" for problem in found]
    assert not failures, "\n".join(failures)


def test_default_selection_covers_every_family() -> None:
    every_family = {family.__name__ for family in FAMILIES} | {"random_damage"}
    assert {case.family for case in generate(200)} == every_family


def test_paths_that_are_not_vector_files(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.gguf"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.gguf"
    loop.symlink_to(loop)
    dangling = tmp_path / "dangling.gguf"
    dangling.symlink_to(tmp_path / "nowhere")
    huge = tmp_path / "huge.gguf"
    with huge.open("wb") as handle:
        handle.write(b"GGUF")
        handle.truncate(vector_file.MAX_FILE_BYTES + 1)
    for path in (
        tmp_path,
        tmp_path / "missing.gguf",
        fifo,
        loop,
        dangling,
        huge,
        Path("/dev/zero"),
    ):
        with pytest.raises(VectorFileError) as caught, time_limit(TIMEOUT_S):
            vector_file.read(path)
        assert "\n" not in str(caught.value)
