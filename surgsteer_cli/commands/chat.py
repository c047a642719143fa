"""``surgsteer chat``: an interactive conversation, steered turn by turn."""

from __future__ import annotations

from dataclasses import replace

import click

from surgsteer_cli import console
from surgsteer_cli.commands.options import model_options, steering_options
from surgsteer_cli.repl import Chat, ChatView, run, terminal_reader
from surgsteer_cli.session import AnswerOptions, RuntimeOptions, Session


@click.command()
@steering_options
@model_options
def chat(options: AnswerOptions, runtime: RuntimeOptions) -> None:
    """Chat with the model; each question gets the profile of its language.

    Commands: /lang, /steer on|off, /localize prompt|vector|both, /scale en|loc X,
    /profile, /reset, /help, /quit.
    Ctrl-C stops the answer being written; Ctrl-D or /quit leaves.
    """
    session = Session.open(runtime)
    if options.request.language:
        language = session.check_language(options.request.language)
        options.request = replace(options.request, language=language)
    engine = session.engine
    console.info(
        f"{engine.path.name} on {engine.backend}, context {engine.llm.n_ctx()} tokens, "
        f"profiles: {', '.join(sorted(session.profiles)) or 'none'}. /help lists commands."
    )
    view = ChatView(console.out, console.err)
    run(Chat(session, view, options), terminal_reader(console.err))
