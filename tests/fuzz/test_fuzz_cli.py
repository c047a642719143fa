"""A sample of the fuzz cases through the real CLI, in subprocesses: a bad vector file makes
``vectors inspect`` and ``ask --vectors`` exit 1 with one ``Error:`` line and no traceback;
under a file name that is not UTF-8 (and holds an escape sequence), ``vectors inspect
--json`` writes valid UTF-8 that names the file exactly, or that one printable line."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.cli import run_surgsteer
from tests.fuzz.outcomes import read_and_check
from tests.fuzz.vector_cases import Case, generate


def one_per_family(count: int) -> list[Case]:
    """The first case of each family among ``generate(count)``, from the Gemma-shaped base."""
    sample: dict[str, Case] = {}
    for case in generate(count):
        if "/gemma/" in case.name:
            sample.setdefault(case.family, case)
    return list(sample.values())


SAMPLE = one_per_family(400)
ASK_SAMPLE = [
    case for case in SAMPLE if case.family in ("truncations", "directions", "other_models")
]


def surgsteer(*args: str) -> subprocess.CompletedProcess[str]:
    return run_surgsteer(*args)


def assert_one_error_line(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr


@pytest.mark.parametrize("case", SAMPLE, ids=[case.family for case in SAMPLE])
def test_vectors_inspect(case: Case, tmp_path: Path) -> None:
    path = tmp_path / "vector.gguf"
    path.write_bytes(case.data)
    result = surgsteer("vectors", "inspect", str(path))
    if read_and_check(path, case.model).outcome == "error":
        assert_one_error_line(result)
    else:
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr


HOSTILE_NAME = os.fsdecode(b"v\xff\xe9\x1b[31m.gguf")


@pytest.mark.parametrize("case", SAMPLE, ids=[case.family for case in SAMPLE])
def test_vectors_inspect_json_under_a_name_that_is_not_utf8(case: Case, tmp_path: Path) -> None:
    path = tmp_path / HOSTILE_NAME
    path.write_bytes(case.data)
    result = surgsteer("vectors", "inspect", "--json", str(path))  # decoded strictly
    if read_and_check(path, case.model).outcome == "error":
        assert_one_error_line(result)
        assert "\x1b" not in result.stderr and "v\\xff\\xe9\\x1b[31m.gguf" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["file"] == str(path)


@pytest.mark.parametrize("case", ASK_SAMPLE, ids=[case.family for case in ASK_SAMPLE])
def test_ask_with_the_file_refuses_it(case: Case, tmp_path: Path, small_model: Path) -> None:
    """Every Gemma-shaped case is refused by ``ask``: malformed, or (its fingerprint is made
    up) made for another model."""
    path = tmp_path / "vector.gguf"
    path.write_bytes(case.data)
    assert_one_error_line(surgsteer("ask", "--max-tokens", "2", "--vectors", str(path), "hi"))
