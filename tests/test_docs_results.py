"""The benchmark and campaign outputs the docs show are the ones their scripts saved in
``docs/results/`` (each starts with the command that made it), quoted whole, not retyped."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
QUOTED = [
    ("runtime_bench.txt", "README.md"),
    ("cloze_bench.txt", "README.md"),
    ("interrupt_runs.txt", "docs/safety.md"),
    ("fuzz.txt", "docs/safety.md"),
    ("eval-scale.txt", "README.md"),
    ("cvgen-qwen/baseline.txt", "docs/llama-cpp.md"),
    ("cvgen-qwen/verdict.md", "docs/llama-cpp.md"),
    ("cvgen-qwen/verdict.md", "README.md"),
    ("llama-server.txt", "docs/llama-cpp.md"),
    ("stock-llama-server-build.txt", "docs/llama-cpp.md"),
]


@pytest.mark.parametrize(("saved", "document"), QUOTED)
def test_saved_output_is_quoted_whole(saved: str, document: str) -> None:
    output = [line.strip() for line in (REPO / "docs" / "results" / saved).read_text().splitlines()]
    assert output[0].startswith("$ ") and "python" in output[0]
    text = [line.strip() for line in (REPO / document).read_text(encoding="utf-8").splitlines()]
    starts = [i for i, line in enumerate(text) if line == output[0]]
    assert any(text[i : i + len(output)] == output for i in starts), f"{saved} not in {document}"
