"""The FastAPI application: ``create_app(session, config)`` serves one loaded model.

Each request's steering is decided from its own language (or its ``surgsteer`` field) and its
prompt is checked against the context before it queues for the model; the steering is applied
only once the request holds the context (``slot``)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Generator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from surgsteer_cli import __version__
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.server.config import ServerConfig
from surgsteer_cli.server.conversation import conversation
from surgsteer_cli.server.errors import ApiError, install_error_handlers, internal_error
from surgsteer_cli.server.limits import BodyLimit
from surgsteer_cli.server.log import request_line
from surgsteer_cli.server.responses import Json, Reply, steering_headers
from surgsteer_cli.server.slot import Job, Slot
from surgsteer_cli.server.types import ChatCompletionRequest, CompletionRequest, SteerOptions
from surgsteer_cli.session import Session, Steering, SteeringRequest
from surgsteer_cli.untrusted import json_text


@dataclass(frozen=True)
class Server:
    """What the routes share: the loaded session, its context slot, the configuration."""

    session: Session
    slot: Slot
    config: ServerConfig

    def check_model(self, model: str | None) -> None:
        """With ``strict_model``, refuse a request for another model than the one served
        (none named is fine); without, any name gets the one model served."""
        if self.config.strict_model and model not in (None, self.config.model_id):
            raise ApiError(
                404,
                f"model {model!r} does not exist; this server runs {self.config.model_id!r}",
                param="model",
                code="model_not_found",
            )

    def steering(self, text: str, options: SteerOptions) -> Steering:
        """The steering for a request whose language is that of ``text``."""
        if options.lang is not None:
            try:
                self.session.check_language(options.lang)
            except SurgsteerError as exc:
                raise ApiError(
                    400, str(exc), param="surgsteer.lang", code="unknown_language"
                ) from None
        request = SteeringRequest(
            language=options.lang,
            steer=self.config.steer and options.steer,
            en_scale=options.en_scale,
            loc_scale=options.loc_scale,
            localize=options.localize or self.config.localize,
            en_at=options.en_at,
            loc_at=options.loc_at,
        )
        return self.session.steering(text, request)


def create_app(session: Session, config: ServerConfig) -> FastAPI:
    """The application serving ``session``'s model (tests can build it in process)."""
    app = FastAPI(
        title="surgsteer",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        default_response_class=Json,
    )
    app.state.server = Server(session, Slot(session), config)
    app.add_middleware(BodyLimit, max_body=config.max_body)
    install_error_handlers(app)
    app.include_router(router)
    return app


async def get_server(request: Request) -> Server:
    """The server state of the app handling ``request``."""
    return request.app.state.server


ServerDep = Annotated[Server, Depends(get_server)]


async def authorize(request: Request, server: ServerDep) -> None:
    """Require ``Authorization: Bearer KEY`` when the server has an API key."""
    key = server.config.api_key
    if key is None:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(token.encode(), key.encode()):
        raise ApiError(
            401,
            "a valid API key is required as 'Authorization: Bearer KEY'",
            code="invalid_api_key",
        )


router = APIRouter()
v1 = APIRouter(prefix="/v1", dependencies=[Depends(authorize)])


@router.get("/health")
async def health(server: ServerDep) -> dict[str, object]:
    """Liveness, the model served and whether a request is using it now."""
    return {"status": "ok", "model": server.config.model_id, "busy": server.slot.busy}


@v1.get("/models")
async def models(server: ServerDep) -> dict[str, object]:
    """The one model served, with the languages that have a steering profile."""
    model = {
        "id": server.config.model_id,
        "object": "model",
        "created": 0,
        "owned_by": "surgsteer",
        "surgsteer": {"profiles": sorted(server.session.profiles), "steer": server.config.steer},
    }
    return {"object": "list", "data": [model]}


@v1.post("/chat/completions")
async def chat_completions(
    body: ChatCompletionRequest, request: Request, server: ServerDep
) -> Response:
    """A chat answer, steered by the language of the last user message. Detecting the
    language and tokenizing run in a worker thread, as generating does: a long request never
    holds up the others."""
    server.check_model(body.model)
    talk = conversation(body.messages)
    steering = await run_in_threadpool(server.steering, talk.last_user, body.surgsteer)
    session = server.session
    pieces = await _fitting(
        lambda: session.answer(
            talk.question,
            talk.history,
            system=steering.system,
            max_tokens=body.token_limit or session.engine.llm.n_ctx(),
            temperature=body.temperature or 0.0,
            seed=body.seed,
            stop=body.stops,
        ),
        param="messages",
    )
    reply = Reply("chat", server.config.model_id, steering)
    return await _respond(server, request, Job(steering, pieces), reply, stream=body.stream)


@v1.post("/completions")
async def completions(body: CompletionRequest, request: Request, server: ServerDep) -> Response:
    """A raw text completion of the prompt, steered by the prompt's language."""
    server.check_model(body.model)
    steering = await run_in_threadpool(server.steering, body.prompt, body.surgsteer)
    pieces = await _fitting(
        lambda: server.session.engine.generate(
            body.prompt,
            max_tokens=body.token_limit,
            temperature=body.temperature or 0.0,
            seed=body.seed,
            stop=body.stops,
        ),
        param="prompt",
    )
    reply = Reply("text", server.config.model_id, steering)
    return await _respond(server, request, Job(steering, pieces), reply, stream=body.stream)


router.include_router(v1)


async def _fitting(
    prepare: Callable[[], Generator[str, None, None]], *, param: str
) -> Generator[str, None, None]:
    """The pieces ``prepare`` returns (it tokenizes: run in a worker thread); its refusal of
    an over-long prompt becomes a 400."""
    try:
        return await run_in_threadpool(prepare)
    except SurgsteerError as exc:  # the only one it raises: the prompt does not fit
        raise ApiError(400, str(exc), param=param, code="context_length_exceeded") from None


async def _respond(
    server: Server, request: Request, job: Job, reply: Reply, *, stream: bool
) -> Response:
    request_line(reply.kind, job.steering)
    headers = steering_headers(job.steering)
    if stream:
        return EventSourceResponse(_events(server.slot, job, reply), headers=headers, sep="\n")
    text = await _collect(server.slot, job, request)
    return Json(reply.whole(text, job.finish_reason), headers=headers)


async def _events(slot: Slot, job: Job, reply: Reply) -> AsyncIterator[dict[str, str]]:
    """Server-sent events: the steering first, then the pieces, the reason, ``[DONE]``. A
    failure once the stream has begun (its status sent) is an ``error`` event, as OpenAI
    sends, followed by ``[DONE]``."""
    try:
        yield {"data": json_text(reply.opening())}
        async with aclosing(slot.run(job)) as pieces:
            async for piece in pieces:
                yield {"data": json_text(reply.piece(piece))}
        yield {"data": json_text(reply.closing(job.finish_reason))}
    except Exception as exc:  # noqa: BLE001 (every failure: the client sees it, the log has it)
        yield {"data": json_text(internal_error(exc).body())}
    yield {"data": "[DONE]"}


async def _collect(slot: Slot, job: Job, request: Request) -> str:
    """The whole text; generation stops early if the client goes away."""
    parts: list[str] = []
    async with aclosing(slot.run(job)) as pieces:
        async for piece in pieces:
            parts.append(piece)
            if await request.is_disconnected():
                break
    return "".join(parts)
