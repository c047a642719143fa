"""``surgsteer ask``: answer one question with the steering profile of its language."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable

import click

from surgsteer_cli import __version__
from surgsteer_cli.commands.options import model_options, steering_options
from surgsteer_cli.console import err, info, warn
from surgsteer_cli.display import header, sampling_record, steering_record
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.session import AnswerOptions, RuntimeOptions, Session
from surgsteer_cli.untrusted import json_text, terminal_text


@click.command()
@click.argument("question")
@steering_options
@model_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")
def ask(question: str, options: AnswerOptions, runtime: RuntimeOptions, as_json: bool) -> None:
    """Answer QUESTION (`-` reads it from stdin), steered by the profile of its language.

    The language is detected unless --lang names it; English, unknown languages and
    languages without a profile are answered without steering. Otherwise the EN vector
    steers the middle blocks and --localize brings in the language's culture: by default a
    system line that names the country.

    \b
    Example:  surgsteer ask --lang ko "What is the emergency number?"
    """
    question = read_question(question)
    started = time.perf_counter()
    session = Session.open(runtime)
    load_s = time.perf_counter() - started
    steering = session.steering(question, options.request)
    session.apply(steering)
    pieces = session.answer(
        question,
        system=steering.system,
        max_tokens=options.max_tokens,
        temperature=options.temperature,
        seed=options.seed,
    )
    engine = session.engine
    if not as_json:
        err.print(header(session, steering), soft_wrap=True)
    engine.reset_perf()
    answer, first_token_s, total_s = _consume(pieces, echo=not as_json)
    if not as_json:
        if pieces.finish_reason == "repetition":
            warn("the answer was repeating itself; stopped")
        return
    perf = engine.perf()
    record = {
        "answer": answer,
        "finish_reason": pieces.finish_reason,
        **steering_record(steering),
        "prompt": str(session.prompt(question, system=steering.system)),
        "sampling": sampling_record(session, options),
        "model": str(engine.path),
        "backend": engine.backend,
        "version": __version__,
        "timings": {
            "load_s": round(load_s, 3),
            "first_token_s": round(first_token_s, 3),
            "total_s": round(total_s, 3),
            "prompt_tokens": perf.prompt_tokens,
            "decoded_tokens": perf.decoded_tokens,
            "tokens_per_s": round(perf.tokens_per_s, 2),
        },
    }
    click.echo(json_text(record))


def _consume(pieces: Iterable[str], *, echo: bool) -> tuple[str, float, float]:
    """Read the whole answer, printing it as it comes if ``echo``; return it with the seconds
    to its first piece and in total."""
    started = time.perf_counter()
    first_token_s = None
    parts = []
    for piece in pieces:
        first_token_s = first_token_s or time.perf_counter() - started
        parts.append(piece)
        if echo:
            click.echo(terminal_text(piece), nl=False)
    if echo:
        click.echo()
    total_s = time.perf_counter() - started
    return "".join(parts).rstrip(), first_token_s or total_s, total_s


def read_question(argument: str) -> str:
    """The question from the argument, or from stdin for `-`; refuse empty or undecodable."""
    if argument == "-":
        if sys.stdin.isatty():
            info("Reading the question from stdin (Ctrl-D ends it).")
        raw = sys.stdin.buffer.read()
        try:
            argument = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SurgsteerError(
                f"stdin is not valid UTF-8 (byte {raw[exc.start]:#04x} at offset {exc.start})"
            ) from None
    question = argument.strip()
    if not question:
        raise SurgsteerError("the question is empty")
    return question
