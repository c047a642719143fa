"""The server's configuration as data: what ``surgsteer serve`` was started with."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from surgsteer_cli.session import DEFAULT_LOCALIZE


@dataclass(frozen=True)
class ServerConfig:
    """Where the server listens, who may use it, and whether it steers at all.

    ``model_id`` is the name clients send as ``model`` (and ``GET /v1/models`` lists);
    ``api_key``, when set, must come with every ``/v1`` request as a Bearer token;
    ``steer=False`` answers every request unsteered (the baseline), whatever it asks for;
    ``localize`` is how requests that do not say bring in the culture (``--localize``)."""

    model_id: str
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    steer: bool = True
    localize: str = DEFAULT_LOCALIZE

    @property
    def loopback_only(self) -> bool:
        """True when only this machine can reach the server."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:  # a host name other than localhost
            return False
