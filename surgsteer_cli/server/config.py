"""The server's configuration as data: what ``surgsteer serve`` was started with."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from surgsteer_cli.session import DEFAULT_LOCALIZE

MAX_BODY = 4 * 1024 * 1024
"""Largest request body in bytes: a 128k-token conversation sent as JSON (non-ASCII text as
``\\uXXXX`` escapes, about 1.5 MB) fits."""


@dataclass(frozen=True)
class ServerConfig:
    """Where the server listens, who may use it, and whether it steers at all.

    ``model_id`` is the name ``GET /v1/models`` lists and responses carry; a request naming
    another ``model`` is answered by it anyway (clients often send a fixed name, as
    llama-server allows) unless ``strict_model``; ``api_key``, when set, must come with every
    ``/v1`` request as a Bearer token; ``steer=False`` answers every request unsteered (the
    baseline), whatever it asks for; ``localize`` is how requests that do not say bring in the
    culture (``--localize``); a request body over ``max_body`` bytes is refused (413) before
    it is read whole."""

    model_id: str
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    steer: bool = True
    localize: str = DEFAULT_LOCALIZE
    strict_model: bool = False
    max_body: int = MAX_BODY

    @property
    def loopback_only(self) -> bool:
        """True when only this machine can reach the server."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:  # a host name other than localhost
            return False
