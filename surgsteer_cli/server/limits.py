"""A cap on request bodies: one client sending megabytes must not hold the server's memory or
time. A body declared larger than the cap is refused before any of it is read; one that grows
past it while it arrives (no ``Content-Length``, or a false one) is refused there."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from surgsteer_cli.server.errors import ApiError


class BodyLimit:
    """ASGI middleware: 413 for a request body of more than ``max_body`` bytes."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    def message(self) -> str:
        """What the 413 says."""
        return f"the request body is larger than {self.max_body} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body:
            await ApiError(413, self.message()).response()(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body:
                # Raised where the route reads its body; the error handlers answer it.
                raise HTTPException(413, self.message())
            return message

        await self.app(scope, limited, send)
