"""``surgsteer chat``: the REPL through the real command group, and its loop logic."""

from __future__ import annotations

import io
import os
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from surgsteer_cli import vector_file
from surgsteer_cli.cli import main
from surgsteer_cli.engine import Engine
from surgsteer_cli.profiles import Profile
from surgsteer_cli.repl import Chat, ChatView, run
from surgsteer_cli.session import AnswerOptions, Session, SteeringRequest

KOREAN = "대한민국의 긴급 전화번호는 무엇인가요?"
ENGLISH = "What is the capital of France?"


@pytest.fixture
def ko_vectors(make_vector, tmp_path: Path) -> Path:
    vector_file.write(make_vector("en", "ko", [5, 6], scale=4.0), tmp_path / "ko.en.gguf")
    vector_file.write(make_vector("loc", "ko", [12], scale=2.0, seed=1), tmp_path / "ko.loc.gguf")
    return tmp_path


def chat_lines(*args: str, lines: list[str]) -> tuple[str, str]:
    stdin = "".join(f"{line}\n" for line in lines).encode()
    result = CliRunner().invoke(main, ["chat", "--max-tokens", "2", *args], input=stdin)
    assert result.exit_code == 0, result.output
    assert result.exception is None
    return result.stdout, result.stderr


@pytest.mark.usefixtures("cached_engine")
def test_profile_switches_are_shown_inline(ko_vectors: Path) -> None:
    stdout, stderr = chat_lines(
        "--vectors",
        str(ko_vectors),
        lines=[
            ENGLISH,
            KOREAN,
            KOREAN,
            "/steer off",
            KOREAN,
            "/steer on",
            "/localize vector",
            "/scale loc 0.5",
            KOREAN,
        ],
    )
    messages = [line for line in stderr.splitlines() if "->" in line]
    assert messages == [
        "en English (detected, confidence 1.00) -> profile none (English needs no steering)",
        "switch: ko Korean (detected, confidence 1.00) -> profile ko: EN x4 @ blocks 5-6, "
        "country in the system line",
        "ko Korean (detected, confidence 1.00) -> profile ko: EN x4 @ blocks 5-6, "
        "country in the system line",
        "switch: ko Korean (detected, confidence 1.00) -> profile none (steering is off)",
        "switch: ko Korean (detected, confidence 1.00) -> profile ko: EN x4 @ blocks 5-6, "
        "LOC x0.5 @ blocks 12",
    ]


@pytest.mark.usefixtures("cached_engine")
def test_commands_and_their_mistakes_keep_the_chat_going(ko_vectors: Path) -> None:
    _, stderr = chat_lines(
        "--vectors",
        str(ko_vectors),
        lines=[
            "/lang x1",
            "/lang ko",
            ENGLISH,
            "/lang auto",
            "/scale en much",
            "/steer maybe",
            "/bogus",
            "/profile",
            "/reset",
            "/help",
            "/quit",
            "never read",
        ],
    )
    assert "Error: unknown language 'x1'; valid: am, ar" in stderr
    assert "language: ko" in stderr
    assert "ko Korean (--lang) -> profile ko:" in stderr
    assert "language: auto (detected each turn)" in stderr
    assert "Error: not a number: 'much'" in stderr
    assert "Error: usage: /steer on|off" in stderr
    assert "Error: unknown command /bogus; /help lists them" in stderr
    assert "  ko: en+loc" in stderr
    assert "history cleared" in stderr
    assert "/scale en|loc X|default" in stderr
    assert "never read" not in stderr
    assert "Traceback" not in stderr


@pytest.mark.usefixtures("cached_engine")
def test_invalid_utf8_and_end_of_input_end_cleanly() -> None:
    result = CliRunner().invoke(
        main, ["chat", "--max-tokens", "2"], input=b"What is \xff this thing?\n"
    )
    assert result.exit_code == 0, result.output
    assert "(detected, confidence" in result.stderr  # the line was answered
    assert result.stdout.strip()


class Recorder(ChatView):
    """The real view writing into strings; counts answer pieces."""

    def __init__(self) -> None:
        super().__init__(Console(file=io.StringIO()), Console(file=io.StringIO()))
        self.pieces: list[str] = []

    def piece(self, text: str) -> None:
        self.pieces.append(text)
        super().piece(text)

    @property
    def messages(self) -> str:
        return self.err.file.getvalue()


class InterruptingRecorder(Recorder):
    """Presses Ctrl-C (a real SIGINT to this process) as the first piece arrives."""

    def piece(self, text: str) -> None:
        super().piece(text)
        if len(self.pieces) == 1:
            os.kill(os.getpid(), signal.SIGINT)


def new_chat(engine, view: ChatView, **options) -> Chat:
    return Chat(Session(engine, {}), view, AnswerOptions(**options))


def test_ctrl_c_stops_the_answer_not_the_chat(engine) -> None:
    view = InterruptingRecorder()
    chat = new_chat(engine, view, max_tokens=40)
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN where pytest was started ignoring it
    assert chat.handle("Write a long story about a dragon.")
    assert len(view.pieces) == 1
    assert "(stopped)" in view.messages
    assert chat.history == [("Write a long story about a dragon.", view.pieces[0].rstrip())]
    assert signal.getsignal(signal.SIGINT) is before  # restored, whatever it was
    chat.options.max_tokens = 2
    assert chat.handle(ENGLISH)
    assert len(chat.history) == 2


def test_ctrl_c_at_the_prompt_does_not_leave(engine) -> None:
    view = Recorder()
    chat = new_chat(engine, view)
    inputs: list[object] = [KeyboardInterrupt(), "/help", "/quit", "never read"]

    def read_line() -> str | None:
        item = inputs.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    run(chat, read_line)
    assert inputs == ["never read"]
    assert "/quit or Ctrl-D leaves" in view.messages


def test_history_is_kept_and_the_oldest_turns_dropped_to_fit(model_path) -> None:
    small = Engine(model_path, n_ctx=256)
    view = Recorder()
    chat = new_chat(small, view, max_tokens=3)
    chat.handle(ENGLISH)
    assert [q for q, _ in chat.history] == [ENGLISH]
    filler = "The quick brown fox jumps over the lazy dog. " * 7  # about 70 tokens
    chat.history = [(f"{n}: {filler}", "ok") for n in range(3)] + chat.history
    chat.handle("And of Spain?")
    assert [q[:2] for q, _ in chat.history] == ["1:", "2:", ENGLISH[:2], "An"]
    assert view.messages.count("context full, dropped oldest turn: 0: The quick") == 1
    prompt = str(chat.session.prompt("next", chat.history))
    assert ENGLISH in prompt and "And of Spain?" in prompt


def test_a_question_too_long_for_the_context_keeps_the_history(engine) -> None:
    view = Recorder()
    chat = new_chat(engine, view, max_tokens=3)
    chat.history = [("earlier", "answer")]
    chat.handle("word " * 3000)
    assert "Error: the question does not fit the context of 2048 tokens" in view.messages
    assert chat.history == [("earlier", "answer")]


def test_lang_setting_selects_the_profile(engine, make_vector) -> None:
    view = Recorder()
    profiles = {"ko": Profile("ko", loc=make_vector("loc", "ko", [12]))}
    options = AnswerOptions(SteeringRequest(language="ko", localize="vector"), max_tokens=2)
    chat = Chat(Session(engine, profiles), view, options)
    chat.handle(ENGLISH)
    assert "switch: ko Korean (--lang) -> profile ko: LOC x1 @ blocks 12" in view.messages
    chat.handle("/localize prompt")
    chat.handle(ENGLISH)
    assert "switch: ko Korean (--lang) -> profile ko: country in the system line" in view.messages
