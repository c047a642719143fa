"""The one llama.cpp context, lent to one request at a time in arrival order.

A request decides its steering and checks its prompt *before* it queues (``Job``); only
applying the steering and generating happen while it holds the context, so no request's
control vector is ever in effect during another request's tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
from starlette.concurrency import iterate_in_threadpool

from surgsteer_cli.engine import Completion
from surgsteer_cli.session import Answer, Session, Steering


@dataclass
class Job:
    """One request's generation: its steering and its pieces, not started yet (llama.cpp
    generators do nothing until first read). ``finish_reason`` is set once they run out."""

    steering: Steering
    pieces: Answer | Completion
    finish_reason: str | None = None


class Slot:
    """Owns the session's context; ``run`` waits for it in a first-come, first-served queue."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._lock = anyio.Lock()  # anyio's lock wakes its waiters in arrival order

    @property
    def busy(self) -> bool:
        """Whether a request holds the context now."""
        return self._lock.locked()

    async def run(self, job: Job) -> AsyncIterator[str]:
        """Take the context, apply the job's steering, then stream its pieces (read in a worker
        thread). Closing this iterator early, as a client that goes away does, stops the
        generation between two tokens and frees the context. Use it under ``aclosing``."""
        async with self._lock:
            pieces = iter(job.pieces)
            try:
                self.session.apply(job.steering)
                async for piece in iterate_in_threadpool(pieces):
                    yield piece
                job.finish_reason = job.pieces.finish_reason
            finally:
                # A cancelled read waits for its thread, so the generator is idle here.
                pieces.close()
