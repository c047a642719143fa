"""Every failure becomes an OpenAI-style error body ``{"error": {message, type, param, code}}``;
a client never sees a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from surgsteer_cli.server.responses import Json

log = logging.getLogger("surgsteer.server")

_TYPES = {401: "authentication_error", 404: "not_found_error", 500: "server_error"}
_CODES = {413: "request_too_large"}


class ApiError(Exception):
    """A request the server refuses, with the HTTP status and OpenAI error fields to send."""

    def __init__(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code

    def body(self) -> dict[str, object]:
        """``{"error": {message, type, param, code}}``, as a response or a stream event."""
        return {
            "error": {
                "message": self.message,
                "type": _TYPES.get(self.status, "invalid_request_error"),
                "param": self.param,
                "code": self.code or _CODES.get(self.status),
            }
        }

    def response(self) -> Json:
        """The error as an OpenAI-style JSON response."""
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return Json(self.body(), status_code=self.status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Route every kind of failure through ``ApiError.response``."""

    async def api_error(_: Request, exc: Exception) -> Json:
        assert isinstance(exc, ApiError)
        return exc.response()

    async def invalid_request(_: Request, exc: Exception) -> Json:
        assert isinstance(exc, RequestValidationError)
        return validation_error(exc).response()

    async def http_error(_: Request, exc: Exception) -> Json:
        assert isinstance(exc, HTTPException)
        return ApiError(exc.status_code, str(exc.detail)).response()

    async def unexpected(_: Request, exc: Exception) -> Json:
        return internal_error(exc).response()

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


def internal_error(exc: Exception) -> ApiError:
    """A 500 for a failure no request should cause; its traceback goes to the log only."""
    log.error("internal error", exc_info=exc)
    return ApiError(500, "internal server error (see the server's log)")


def validation_error(exc: RequestValidationError) -> ApiError:
    """A 400 naming the first invalid field, like ``messages.0.role: Input should be ...``."""
    first = exc.errors()[0]
    if first["type"] == "json_invalid":
        return ApiError(400, "the request body is not valid JSON", code="invalid_json")
    param = ".".join(str(part) for part in first["loc"] if part != "body")
    if not param:
        return ApiError(400, "the request body must be a JSON object", code="invalid_value")
    return ApiError(400, f"{param}: {first['msg']}", param=param, code="invalid_value")
