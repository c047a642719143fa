"""Text from outside reaches the terminal as text: hostile vector metadata, file names, paths
and model names go through every command without a traceback (Rich markup errors) and without
one escape byte (colours, window titles, hyperlinks)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from surgsteer_cli import vector_file
from surgsteer_cli.cli import main
from surgsteer_cli.console import safe
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.untrusted import json_text, printable, terminal_text
from tests.fuzz.gguf_bytes import STRING, Kv, decompose, serialize

MARKUP = "[/x][link=file:///etc/passwd]x[/link][bold red]"
ESCAPES = "\x1b]0;pwned\x07\x1b[31m\x1b]8;;file:///etc/passwd\x1b\\\u202e\x9b"
HOSTILE = MARKUP + ESCAPES
NAME = "[bold red]x\x1b]0;t\x07\x1b[2J"
"""A file name: anything but a slash."""
FORBIDDEN = ("\x1b", "\x07", "\u202e", "\x9b", "Traceback")


def test_printable_shows_controls_as_escapes_on_one_line() -> None:
    assert printable("a\x1b[31mb\nc\u202ed\x9b") == "a\\x1b[31mb\\nc\\u202ed\\x9b"
    assert printable("서울 café 🚑") == "서울 café 🚑"


def test_safe_text_is_neither_markup_nor_control() -> None:
    assert safe("[/x]\x1b") == "\\[/x]\\x1b"


def test_answers_keep_lines_tabs_and_joiners_but_not_controls() -> None:
    text = "a\nb\tc\u00a0d\u200de\u202ff\u200fg"
    assert terminal_text(text) == text
    assert terminal_text("x\x1b[2Jy\u202ez\x9b\r") == "x\\x1b[2Jy\\u202ez\\x9b\\r"


def test_json_lines_escape_what_would_drive_a_terminal() -> None:
    value = {"text": f"서울 {HOSTILE}\n"}
    line = json_text(value)
    assert json.loads(line) == value and "서울" in line
    assert not any(forbidden in line for forbidden in FORBIDDEN)
    with pytest.raises(ValueError):
        json_text({"scale": float("nan")})


def hostile_copy(source: Path, target: Path, replace: dict[str, str], drop: str = "") -> None:
    """``source`` rewritten with some string tags replaced, ``drop`` left out and a hostile
    key added (a file ``vector_file.write`` would refuse to make)."""
    kvs, tensors = decompose(source)
    kvs = [Kv(kv.key, kv.type, replace.get(kv.key, kv.value)) for kv in kvs if kv.key != drop]
    kvs.append(Kv(HOSTILE, STRING, HOSTILE))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(serialize(kvs, tensors).data)


@pytest.fixture
def hostile(tmp_path: Path, make_vector, model_path: Path, monkeypatch) -> dict[str, Path]:
    """A user vector folder under a path that spells ``[/x]`` and an escape sequence, holding
    a usable Korean profile with hostile tags and name, a file whose role is markup (skipped
    with a warning) and a vector for another model with a hostile architecture; a model
    linked under a hostile name; a hostile output folder."""
    home = tmp_path / "home[" / "x]\x1b[31m"
    monkeypatch.setenv("SURGSTEER_HOME", str(home))
    monkeypatch.setenv("SURGSTEER_SHIPPED_VECTORS", "")  # the user's profile is the one used
    user = home / "vectors"
    plain = tmp_path / "plain"
    en = vector_file.write(make_vector("en", "ko", [5, 6], scale=0.5), plain / "ko.en.gguf")
    loc = vector_file.write(make_vector("loc", "ko", [12], scale=0.5), plain / "ko.loc.gguf")
    tags = {"surgsteer.method": HOSTILE, "surgsteer.normalization": HOSTILE}
    hostile_copy(en, user / f"{NAME}.en.gguf", tags, drop="surgsteer.version")
    hostile_copy(loc, user / "ko.loc.gguf", tags)
    hostile_copy(en, user / f"role{NAME}.gguf", {"surgsteer.role": HOSTILE})
    other = ModelSpec(architecture="llama", n_layer=4, n_embd=8, fingerprint="0" * 16)
    foreign = vector_file.write(make_vector("en", "ko", [1], spec=other), plain / "other.gguf")
    hostile_copy(foreign, user / "other.gguf", {"surgsteer.model.architecture": HOSTILE})
    model = tmp_path / "models" / f"{NAME}.gguf"
    model.parent.mkdir()
    model.symlink_to(model_path)
    return {"user": user, "model": model, "out": tmp_path / NAME / "run[" / "x]"}


def run(args: list[str], stdin: str | None = None, *, status: int = 0) -> Result:
    wide = {"COLUMNS": "1000"}  # tables that do not fold long names
    result = CliRunner().invoke(main, [str(arg) for arg in args], input=stdin, env=wide)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    output = result.stdout + result.stderr
    for forbidden in FORBIDDEN:
        assert forbidden not in output, (forbidden, output)
    assert result.exit_code == status, output
    return result


QUESTION = "What is the capital of France?"


def test_ask_and_chat(hostile: dict[str, Path]) -> None:
    model = ["--model", hostile["model"], "--max-tokens", "2"]
    result = run(["ask", *model, "--lang", "ko", QUESTION])
    assert "skipping" in result.stderr and "role must be one of" in result.stderr
    assert "missing optional key surgsteer.version" in result.stderr
    assert "[bold red]x\\x1b]0;t\\x07" in result.stderr  # the model's name, as text
    run(["ask", *model, "--json", QUESTION])
    refused = run(["ask", *model, "--vectors", hostile["user"], QUESTION], status=1)
    assert refused.stderr.startswith("Error: ") and len(refused.stderr.splitlines()) == 1
    run(["chat", *model], stdin=f"/profile\n/lang ko\n{QUESTION}\n/scale en 1\n/quit\n")


def test_doctor(hostile: dict[str, Path]) -> None:
    assert "ko; each changes the logits" in run(["doctor", "--model", hostile["model"]]).stdout


def test_vectors_ls_and_inspect(hostile: dict[str, Path]) -> None:
    listing = run(["vectors", "ls"]).stdout + run(["vectors", "ls", hostile["user"]]).stdout
    assert "[bold red]x" in listing and "[/x]" in listing  # names and tags shown, not applied
    run(["vectors", "ls", "--json"])
    tags = run(["vectors", "inspect", hostile["user"] / f"{NAME}.en.gguf"]).stdout
    assert "[link=file:///etc/passwd]" in tags


def test_detect() -> None:
    run(["detect"], stdin=f"{HOSTILE}\n{QUESTION} {ESCAPES}\n")


def test_eval(hostile: dict[str, Path]) -> None:
    args = ["eval", "--model", hostile["model"], "--lang", "ko", "--config", "none,surgical"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run([*args, "--limit", "1", "--out", hostile["out"]])
    assert "Run directory:" in result.stderr and "[bold red]" in result.stdout
    assert not [w for w in caught if "Glyph" in str(w.message)]  # no control byte in the plot
