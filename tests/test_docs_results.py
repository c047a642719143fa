"""The docs' rooms: each benchmark or campaign output the docs show is the one its script saved
in ``docs/results/`` (it starts with the command that made it), quoted whole, not retyped, in
exactly one document; the README stays short and repeats no paragraph of ``docs/``; every
relative link resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
README_MAX_LINES = 200
QUOTED = [
    ("runtime_bench.txt", "docs/benchmarks.md"),
    ("cloze_bench.txt", "docs/benchmarks.md"),
    ("extract-bench.txt", "docs/benchmarks.md"),
    ("serve-bench.txt", "docs/benchmarks.md"),
    ("interrupt_runs.txt", "docs/safety.md"),
    ("fuzz.txt", "docs/safety.md"),
    ("eval-scale.txt", "docs/results.md"),
    ("qwen-quantizations/verdict-quantizations.txt", "docs/quantization.md"),
    ("cvgen-qwen/baseline.txt", "docs/llama-cpp.md"),
    ("cvgen-qwen/verdict.md", "docs/llama-cpp.md"),
    ("llama-server.txt", "docs/llama-cpp.md"),
    ("stock-llama-server-build.txt", "docs/llama-cpp.md"),
]
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = "```"


def stripped_lines(path: Path) -> list[str]:
    """The file's lines without surrounding whitespace."""
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]


def quotes(document: Path, output: list[str]) -> bool:
    """Whether ``document`` holds ``output`` (stripped lines) as consecutive lines."""
    text = stripped_lines(document)
    starts = [i for i, line in enumerate(text) if line == output[0]]
    return any(text[i : i + len(output)] == output for i in starts)


@pytest.mark.parametrize(("saved", "document"), QUOTED)
def test_saved_output_is_quoted_whole_in_one_document(saved: str, document: str) -> None:
    output = stripped_lines(REPO / "docs" / "results" / saved)
    assert output[0].startswith("$ ") and "python" in output[0]
    documents = [README, *DOCS]
    holders = [path.relative_to(REPO).as_posix() for path in documents if quotes(path, output)]
    assert holders == [document], f"{saved} is quoted in {holders}, expected only {document}"


def test_readme_is_short() -> None:
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines (at most {README_MAX_LINES})"


def paragraphs(text: str) -> set[str]:
    """Blocks of at least two non-empty lines, whitespace collapsed: runs of non-empty lines
    outside code fences, and the contents of fences of at least three non-empty lines."""
    found: set[str] = set()
    block: list[str] = []
    fenced = False

    def close(minimum: int) -> None:
        lines = [line for line in block if line.strip()]
        if len(lines) >= minimum:
            found.add(" ".join(" ".join(lines).split()))
        block.clear()

    for line in text.splitlines():
        if line.strip().startswith(FENCE):
            close(3 if fenced else 2)
            fenced = not fenced
        elif fenced or line.strip():
            block.append(line)
        else:
            close(2)
    close(3 if fenced else 2)
    return found


def test_paragraphs_split_on_blank_lines_and_fences() -> None:
    text = "one\ntwo\n\nalone\n\n```\na\nb\n```\n\n```\nc\n\nd\ne\n```\nx  y\nz\n"
    assert paragraphs(text) == {"one two", "c d e", "x y z"}


def test_readme_repeats_no_paragraph_of_docs() -> None:
    readme = paragraphs(README.read_text(encoding="utf-8"))
    for doc in DOCS:
        shared = readme & paragraphs(doc.read_text(encoding="utf-8"))
        assert not shared, f"README.md and {doc.name} both hold: {sorted(shared)[0][:200]}"


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for the Markdown headings of ``path`` (repeats get ``-1``, ``-2``…)."""
    seen: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"#{1,6} (.+)", line):
            slug = re.sub(r"[^\w\- ]", "", match.group(1).lower()).replace(" ", "-")
            seen[slug] = seen.get(slug, -1) + 1
            if seen[slug]:
                seen[f"{slug}-{seen[slug]}"] = 0
    return set(seen)


def links(path: Path) -> list[str]:
    """Relative link targets of ``path``, outside code fences and inline code."""
    targets, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith(FENCE):
            fenced = not fenced
        elif not fenced:
            prose = re.sub(r"`[^`]*`", "", line)
            targets += [t for t in LINK.findall(prose) if not re.match(r"[a-z]+:", t)]
    return targets


@pytest.mark.parametrize(
    "document",
    [README, *DOCS, REPO / "vectors" / "README.md"],
    ids=lambda path: path.relative_to(REPO).as_posix(),
)
def test_relative_links_resolve(document: Path) -> None:
    broken = []
    for target in links(document):
        name, _, anchor = target.partition("#")
        file = (document.parent / name).resolve() if name else document
        if not file.exists() or (anchor and file.suffix == ".md" and anchor not in anchors(file)):
            broken.append(target)
    assert not broken, f"{document.name}: broken links {broken}"
