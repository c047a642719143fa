"""The ``surgsteer`` command group. Commands live in ``surgsteer_cli.commands`` (and
``surgsteer_convert.commands`` for the PyTorch ones) and are imported only when used, so
``ask`` never pays for torch, transformers or matplotlib."""

from __future__ import annotations

import _thread
import importlib
import sys
import threading

import click

from surgsteer_cli import __version__
from surgsteer_cli.errors import SurgsteerError, os_error_message
from surgsteer_cli.untrusted import printable

SHOWN = 200
"""Longest piece of an input shown in an error."""
REDELIVER_AFTER_S = 0.05
"""How long after a dropped Ctrl-C it is delivered again (``redeliver_interrupts``)."""

COMMANDS: dict[str, str] = {
    "ask": "surgsteer_cli.commands.ask:ask",
    "chat": "surgsteer_cli.commands.chat:chat",
    "detect": "surgsteer_cli.commands.detect:detect",
    "doctor": "surgsteer_cli.commands.doctor:doctor",
    "eval": "surgsteer_cli.commands.eval:eval_command",
    "extract": "surgsteer_convert.commands:extract",
    "layers": "surgsteer_convert.commands:layers",
    "models": "surgsteer_cli.commands.models:models",
    "quantize": "surgsteer_cli.commands.quantize:quantize",
    "serve": "surgsteer_cli.commands.serve:serve",
    "vectors": "surgsteer_cli.commands.vectors:vectors",
}


def redeliver_interrupts(unraisable: sys.UnraisableHookArgs) -> None:
    """``sys.unraisablehook``: a Ctrl-C that lands in a finalizer or a weakref callback would
    be printed as "Exception ignored" and dropped, and the command would run on; deliver it
    again a moment later, once this hook has returned (raised inside it, it would be dropped
    too), so that it stops the command."""
    if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
        again = threading.Timer(REDELIVER_AFTER_S, _thread.interrupt_main)
        again.daemon = True
        again.start()
    else:
        sys.__unraisablehook__(unraisable)


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use; project errors, OS errors (disk
    full, read-only folders, paths through a file) and text that is not UTF-8 (an argument
    or file name read with undecodable bytes) become one printable line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx: click.Context) -> object:
        sys.unraisablehook = redeliver_interrupts
        try:
            return super().invoke(ctx)
        except SurgsteerError as exc:
            raise click.ClickException(printable(exc)) from None
        except OSError as exc:
            raise click.ClickException(printable(os_error_message(exc))) from None
        except UnicodeEncodeError as exc:
            text = printable(exc.object[:SHOWN]) + ("..." if len(exc.object) > SHOWN else "")
            raise click.ClickException(f"not valid UTF-8 text: {text}") from None
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="surgsteer")
def main() -> None:
    """Surgical steering for local LLMs.

    Transfer universal knowledge across languages (EN-steering at middle layers) while keeping
    answers culturally local (LOC-steering at deeper layers), applied as llama.cpp control
    vectors to a GGUF model. Start with:  surgsteer ask --lang ko "emergency number?"
    """
