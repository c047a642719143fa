"""``surgsteer chat``: the loop logic apart from the terminal.

``Chat.handle`` takes one input line (a question or a /command) and reports through a
``ChatView``; ``run`` feeds it lines. Ctrl-C while an answer streams stops that answer only: a
SIGINT handler sets a flag that the stream checks between pieces, so llama.cpp is never
interrupted halfway through an evaluation.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace

from rich.console import Console

from surgsteer_cli.console import safe
from surgsteer_cli.display import language_text, profile_text
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.prompting import Turn
from surgsteer_cli.session import LOCALIZE, AnswerOptions, Session, Steering
from surgsteer_cli.steering import check_scale
from surgsteer_cli.untrusted import terminal_text

HELP = {
    "/lang [L|auto]": "use language L's profile for every turn, or detect it per turn (auto)",
    "/steer on|off": "turn steering on or off",
    "/scale en|loc X|default": "set the EN or LOC scale",
    "/localize prompt|vector|both": "name the country in a system line, add the LOC vector, "
    "or both",
    "/profile": "show the steering in effect and the profiles available",
    "/reset": "forget the conversation",
    "/help": "show this help",
    "/quit": "leave (Ctrl-D too); Ctrl-C only stops the answer being written",
}


class ChatView:
    """Terminal output of the chat: answers on ``out``, everything else on ``err``."""

    def __init__(self, out: Console, err: Console) -> None:
        self.out = out
        self.err = err

    def _say(self, text: str) -> None:
        self.err.print(text, soft_wrap=True)

    def steering(self, steering: Steering, switched: bool) -> None:
        """The language of this turn; the profile too, loudly when it changed."""
        line = f"{language_text(steering)} -> profile {profile_text(steering)}"
        if switched:
            self._say(f"[bold magenta]switch:[/bold magenta] {safe(line)}")
        else:
            self._say(f"[dim]{safe(line)}[/dim]")

    def dropped(self, turn: Turn) -> None:
        """An old turn left the context window."""
        question = turn[0] if len(turn[0]) <= 40 else turn[0][:39] + "…"
        self._say(f"[yellow]context full, dropped oldest turn:[/yellow] {safe(question)}")

    def piece(self, text: str) -> None:
        """A piece of the answer being streamed."""
        self.out.print(terminal_text(text), end="", markup=False, highlight=False, soft_wrap=True)

    def answer_end(self, stopped: bool, repeating: bool = False) -> None:
        """The answer is complete, was stopped with Ctrl-C, or was cut as it repeated itself."""
        self.out.print()
        if stopped:
            self._say("[yellow](stopped)[/yellow]")
        elif repeating:
            self._say("[yellow](stopped: the answer was repeating itself)[/yellow]")

    def message(self, text: str) -> None:
        """Feedback on a command (Rich markup allowed)."""
        self._say(text)

    def error(self, text: str) -> None:
        """A problem with the last input; the chat goes on."""
        self._say(f"[red]Error:[/red] {safe(text)}")


class Chat:
    """A conversation with one loaded model: questions, /commands and the kept history."""

    def __init__(self, session: Session, view: ChatView, options: AnswerOptions) -> None:
        self.session = session
        self.view = view
        self.options = options
        self.history: list[Turn] = []

    def handle(self, line: str) -> bool:
        """Act on one input line; False when the user wants to leave."""
        line = line.strip()
        if not line:
            return True
        try:
            if line.startswith("/"):
                return self._command(*line.split(maxsplit=1))
            self._turn(line)
        except SurgsteerError as exc:
            self.view.error(str(exc))
        return True

    def _turn(self, question: str) -> None:
        s = self.options
        steering = self.session.steering(question, s.request)
        self.view.steering(steering, switched=self.session.apply(steering))
        self._make_room(question, steering.system)
        pieces = self.session.answer(
            question,
            self.history,
            system=steering.system,
            max_tokens=s.max_tokens,
            temperature=s.temperature,
            seed=s.seed,
        )
        parts = []
        with _stop_on_sigint() as stop:
            for piece in pieces:
                parts.append(piece)
                self.view.piece(piece)
                if stop.is_set():
                    break
        self.view.answer_end(stopped=stop.is_set(), repeating=pieces.finish_reason == "repetition")
        self.history.append((question, "".join(parts).rstrip()))

    def _make_room(self, question: str, system: str | None) -> None:
        """Drop the oldest turns until the prompt leaves room for a full answer."""
        n_ctx = self.session.engine.llm.n_ctx()
        if self.session.prompt_tokens(question, system=system) + 1 > n_ctx:
            raise SurgsteerError(f"the question does not fit the context of {n_ctx} tokens")
        room = n_ctx - self.options.max_tokens
        while self.history and (
            self.session.prompt_tokens(question, self.history, system=system) > room
        ):
            self.view.dropped(self.history.pop(0))

    def _command(self, name: str, argument: str = "") -> bool:
        argument = argument.strip()
        if name in ("/quit", "/exit"):
            return False
        actions: dict[str, Callable[[str], None]] = {
            "/lang": self._lang,
            "/steer": self._steer,
            "/scale": self._scale,
            "/localize": self._localize,
            "/profile": lambda _: self._show_profile(),
            "/reset": lambda _: self._reset(),
            "/help": lambda _: self._help(),
        }
        action = actions.get(name)
        if action is None:
            raise SurgsteerError(f"unknown command {name}; /help lists them")
        action(argument)
        return True

    def _ask_for(self, **changes: object) -> None:
        """Change the steering request of the turns to come."""
        self.options.request = replace(self.options.request, **changes)

    def _lang(self, argument: str) -> None:
        if argument == "auto":
            self._ask_for(language=None)
        elif argument:
            self._ask_for(language=self.session.check_language(argument))
        current = self.options.request.language or "auto (detected each turn)"
        self.view.message(f"language: {current}")

    def _steer(self, argument: str) -> None:
        if argument not in ("on", "off"):
            raise SurgsteerError("usage: /steer on|off")
        self._ask_for(steer=argument == "on")
        self.view.message(f"steering {argument}")

    def _localize(self, argument: str) -> None:
        if argument not in LOCALIZE:
            raise SurgsteerError(f"usage: /localize {'|'.join(LOCALIZE)}")
        self._ask_for(localize=argument)
        self.view.message(f"localize by {argument}")

    def _scale(self, argument: str) -> None:
        role, _, value = argument.partition(" ")
        if role not in ("en", "loc"):
            raise SurgsteerError("usage: /scale en|loc X|default")
        value = value.strip()
        if value == "default":
            scale = None
        else:
            try:
                scale = check_scale(float(value))
            except ValueError:
                raise SurgsteerError(f"not a number: {value!r}") from None
        self._ask_for(**{f"{role}_scale": scale})
        self.view.message(f"{role} scale: {'from the file' if scale is None else f'{scale:g}'}")

    def _show_profile(self) -> None:
        r = self.options.request
        self.view.message(
            f"language: {r.language or 'auto'} · steering {'on' if r.steer else 'off'} · "
            f"localize by {r.localize} · "
            f"scales en={r.en_scale if r.en_scale is not None else 'file'} "
            f"loc={r.loc_scale if r.loc_scale is not None else 'file'}"
        )
        profiles = self.session.profiles
        if not profiles:
            self.view.message("no profiles for this model")
        for code, profile in sorted(profiles.items()):
            roles = "+".join(role for role in ("en", "loc") if getattr(profile, role) is not None)
            self.view.message(f"  {code}: {roles}")

    def _reset(self) -> None:
        self.history.clear()
        self.view.message("history cleared")

    def _help(self) -> None:
        for usage, text in HELP.items():
            self.view.message(f"[bold]{safe(usage)}[/bold]  {text}")


def run(chat: Chat, read_line: Callable[[], str | None]) -> None:
    """Feed lines to ``chat`` until it quits or input ends (None)."""
    while True:
        try:
            line = read_line()
        except KeyboardInterrupt:
            chat.view.message("\n[dim](/quit or Ctrl-D leaves)[/dim]")
            continue
        if line is None or not chat.handle(line):
            return


def terminal_reader(console: Console) -> Callable[[], str | None]:
    """Read lines with a prompt and line editing on a terminal, plain lines from a pipe
    (undecodable bytes become U+FFFD); None at end of input."""

    if sys.stdin.isatty():
        with suppress(ImportError):  # absent on Windows
            import readline  # noqa: F401 (gives input() line editing and history)

    def read_line() -> str | None:
        if not sys.stdin.isatty():
            raw = sys.stdin.buffer.readline()
            return raw.decode("utf-8", errors="replace") if raw else None
        try:
            return console.input("[bold cyan]>[/bold cyan] ")
        except EOFError:
            return None

    return read_line


@contextmanager
def _stop_on_sigint() -> Iterator[threading.Event]:
    """An event set by Ctrl-C (SIGINT) while the block runs, instead of KeyboardInterrupt."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
