"""``surgsteer detect`` through the real command group."""

from __future__ import annotations

import json

from click.testing import CliRunner

from surgsteer_cli.cli import main
from surgsteer_cli.commands.detect import FALLBACK

KOREAN = "대한민국의 긴급 전화번호는 무엇인가요?"
SPANISH = "¿Cuál es la comida más popular en México?"


def run(*args: str, stdin: bytes | None = None):
    return CliRunner().invoke(main, ["detect", *args], input=stdin)


def test_text_argument_prints_language_and_confidence() -> None:
    result = run(KOREAN)
    assert result.exit_code == 0
    assert "ko Korean" in result.output
    assert "confidence 1.00" in result.output


def test_unknown_prints_the_fallback_and_succeeds() -> None:
    result = run("Quel est le plat le plus populaire en France ?")
    assert result.exit_code == 0
    assert "unknown" in result.output
    assert FALLBACK in result.output


def test_json_for_a_text_argument() -> None:
    result = run("--json", SPANISH)
    assert result.exit_code == 0
    record = json.loads(result.output)
    assert record["text"] == SPANISH
    assert record["language"] == "es"
    assert 0.7 <= record["confidence"] <= 1.0


def test_stdin_gives_one_json_line_per_input_line() -> None:
    stdin = f"{KOREAN}\n\n{SPANISH}\r\n".encode()
    result = run("--json", stdin=stdin)
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [record["text"] for record in records] == [KOREAN, "", SPANISH]
    assert [record["language"] for record in records] == ["ko", None, "es"]


def test_stdin_in_readable_form_echoes_each_line_unwrapped() -> None:
    long_line = " ".join([SPANISH] * 5)
    result = run(stdin=f"{KOREAN}\n[bold]not markup[/bold] here\n{long_line}\n".encode())
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("ko Korean") and lines[0].endswith(KOREAN)
    assert lines[1].endswith("[bold]not markup[/bold] here")
    assert lines[2].startswith("es Spanish") and lines[2].endswith(long_line)


def test_invalid_utf8_on_stdin_is_replaced_not_fatal() -> None:
    stdin = b"\xff\xfe\xc3 broken \x80 bytes\n" + SPANISH.encode() + b"\n"
    result = run("--json", stdin=stdin)
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.output.splitlines()]
    assert len(records) == 2
    assert "\ufffd" in records[0]["text"]
    assert records[1]["language"] == "es"


def test_candidates_restrict_the_choice() -> None:
    result = run("--json", "--candidates", "ko, zh", SPANISH)
    assert result.exit_code == 0
    assert json.loads(result.output)["language"] is None


def test_unsupported_candidate_is_a_one_line_error() -> None:
    result = run("--candidates", "ko,xx", KOREAN)
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: cannot detect language(s) xx; supported: ")
