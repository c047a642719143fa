"""``surgsteer serve``: an OpenAI-compatible server that steers each request by its language."""

from __future__ import annotations

import socket

import click

from surgsteer_cli.commands.options import localize_option, model_options
from surgsteer_cli.console import info, warn
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.session import RuntimeOptions, Session


@click.command()
@model_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="TCP port."
)
@click.option(
    "--api-key",
    envvar="SURGSTEER_API_KEY",
    show_envvar=True,
    help="Require this key as 'Authorization: Bearer KEY' on every /v1 request.",
)
@click.option("--no-steer", is_flag=True, help="Answer every request unsteered (a baseline).")
@localize_option()
@click.option(
    "--strict-model",
    is_flag=True,
    help="Refuse (404) a request whose 'model' is not the served model's id [default: any "
    "name gets the one model served].",
)
def serve(
    runtime: RuntimeOptions,
    host: str,
    port: int,
    api_key: str | None,
    no_steer: bool,
    localize: str,
    strict_model: bool,
) -> None:
    """Serve the model over the OpenAI API, steering each request by its own language.

    POST /v1/chat/completions and /v1/completions (streamed or not), GET /v1/models and
    /health. A request's language is detected from its last user message (or its prompt)
    unless its "surgsteer" field names one: {"lang": "ko", "localize": "vector", "en_scale":
    ..., "loc_scale": ..., "en_at": "prompt", "loc_at": ..., "steer": false}. Chat requests
    get the country's system line under --localize prompt|both; raw completions have no
    system turn, so only a LOC vector localizes them. Responses say what was applied in a
    "surgsteer" field and in the X-Surgsteer-Language and X-Surgsteer-Profile headers. Ctrl-C
    stops it (status 130).

    \b
    Example:  surgsteer serve --port 8000
              then point any OpenAI client at http://127.0.0.1:8000/v1
    """
    import uvicorn

    from surgsteer_cli.server.app import create_app
    from surgsteer_cli.server.config import ServerConfig
    from surgsteer_cli.server.log import shown

    check_free(host, port)  # before the model loads, which takes a while
    session = Session.open(runtime)
    config = ServerConfig(
        model_id=session.engine.path.stem,
        host=host,
        port=port,
        api_key=api_key or None,
        steer=not no_steer,
        localize=localize,
        strict_model=strict_model,
    )
    if not config.loopback_only:
        warn(
            f"listening on {shown(host)}: other machines can reach this server"
            + ("" if api_key else "; consider --api-key")
        )
    profiles = shown(", ".join(sorted(session.profiles)) or "none")
    info(
        f"model {shown(config.model_id)} on {session.engine.backend}; profiles: {profiles}; "
        f"steering {'on' if config.steer else 'off'}"
    )
    info(f"OpenAI API at http://{shown(host)}:{port}/v1 (Ctrl-C stops)")
    uvicorn.run(
        create_app(session, config), host=host, port=port, log_level="warning", access_log=False
    )
    raise KeyboardInterrupt  # uvicorn.run returns only once Ctrl-C stopped it (it swallows that)


def check_free(host: str, port: int) -> None:
    """A SurgsteerError unless ``host:port`` can be listened on now, bound as uvicorn binds."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise SurgsteerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
