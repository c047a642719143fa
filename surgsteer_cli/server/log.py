"""What the server prints on the terminal (stderr); text from outside is made safe first."""

from __future__ import annotations

import re

from rich.markup import escape

from surgsteer_cli.console import info
from surgsteer_cli.display import profile_text
from surgsteer_cli.session import Steering

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def shown(text: str) -> str:
    """``text`` safe to print with Rich: control characters dropped, markup escaped."""
    return escape(_CONTROL.sub("", text))


def request_line(kind: str, steering: Steering) -> None:
    """One line per request: its kind, language and the profile it gets."""
    info(shown(f"{kind}: {steering.language or 'unknown'} -> {profile_text(steering)}"))
