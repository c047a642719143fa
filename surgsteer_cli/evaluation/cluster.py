"""``eval --workers N`` and ``--ray-address ADDR``: the runner's units scored on Ray actors.

Each worker is an actor (:class:`Worker`) that loads one model at a time, once, with
``threads`` llama.cpp threads (1 unless ``--threads`` says otherwise) and scores shards: up to
:data:`SHARD_ITEMS` items of one unit, through the same ``units.score_unit`` as a run in one
process. The driver keeps :data:`QUEUED` shards on each worker and writes every row that comes
back through the run's ``ResultStore``: it is the only writer, so a re-run resumes exactly as
without Ray. A shard goes to a worker that already holds its model if it can; otherwise to the
model with the most shards left per worker holding it, so a sweep over several models spreads
them over the workers and each worker loads as few models as possible.

Faults are Ray's to retry: a killed worker is restarted (``max_restarts``) and the shards it
held run again (``max_task_retries``), so it costs at most its in-flight items. Ctrl-C on the
driver (or SIGTERM) disconnects it from Ray, which ends the actors the driver owns and, for a
runtime started here, the runtime; the rows written so far stay, and a re-run scores the rest.

``--workers N`` alone starts a local runtime with ``N x threads`` CPUs (no dashboard, no
worker logs on the terminal, a small object store); ``--ray-address`` joins a running cluster
(``ray start --head``), where every node needs surgsteer and the model files at the same
paths, and takes ``N`` workers, by default as many as its CPUs hold.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import RayActorError, RayTaskError

from surgsteer_cli.console import progress
from surgsteer_cli.engine import Engine
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.evaluation.scoring import Scorer
from surgsteer_cli.evaluation.units import ModelWork, Recorder, Unit, score_unit

SHARD_ITEMS = 8  # items per shard: what a killed worker can lose, twice (QUEUED)
QUEUED = 2  # shards on each worker: one running, one waiting, so it never idles
RESTARTS = 3  # restarts of each worker, and retries of each shard, before the run fails
OBJECT_STORE_BYTES = 96 * 2**20  # rows are small; Ray's default takes 30 % of the memory
CONNECT_TIMEOUT_S = 5.0

ScoredRows = list[tuple[dict[str, Any], float]]


@dataclass
class Shard:
    """Some items of one unit, for the model at ``path`` (named ``name`` in the rows)."""

    path: Path
    name: str
    unit: Unit


@ray.remote(max_restarts=RESTARTS, max_task_retries=RESTARTS)
class Worker:
    """A Ray actor that scores shards; it keeps the last model it loaded."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.path: Path | None = None
        self.engine: Engine | None = None
        self.scorer: Scorer | None = None

    def score(self, shard: Shard) -> ScoredRows:
        """The shard's rows, each with the seconds it took."""
        if self.engine is None or self.scorer is None or shard.path != self.path:
            self._load(shard.path)
        return list(score_unit(self.engine, self.scorer, shard.name, shard.unit))

    def _load(self, path: Path) -> None:
        """Free the model held so far, then load the one at ``path``."""
        if self.scorer is not None:
            self.scorer.close()
        self.engine = self.scorer = None
        self.engine = Engine(path, n_threads=self.threads)
        self.scorer = Scorer(self.engine)
        self.path = path


def score_on_ray(
    works: Sequence[ModelWork],
    recorder: Recorder,
    *,
    workers: int | None,
    threads: int | None,
    address: str | None,
) -> float | None:
    """Score ``works`` on Ray, recording every row through ``recorder``; return the driver's
    own seconds per row (None when nothing was left to score)."""
    if not any(work.units for work in works):
        return None
    threads = threads or 1
    _start(address, (workers or 1) * threads)
    try:
        with _sigterm_as_ctrl_c():
            cpus = int(ray.cluster_resources().get("CPU", 0))
            count = workers or max(1, cpus // threads)
            if count * threads > cpus:
                raise SurgsteerError(
                    f"the Ray cluster has {cpus} CPUs; {count} workers x {threads} threads "
                    "need more: fewer --workers or --threads"
                )
            actors = [Worker.options(num_cpus=threads).remote(threads) for _ in range(count)]
            return _drive(actors, works, recorder)
    finally:
        ray.shutdown()  # the driver owns the actors: Ray ends them with it


@contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM stops the run as Ctrl-C does, through every ``finally``: Ray's own handler
    aborts the driver with a stack dump, before it can stop the runtime or close the results."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _start(address: str | None, cpus: int) -> None:
    """Join the cluster at ``address``, or start a small local runtime with ``cpus`` CPUs."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no report sent anywhere
    os.environ.setdefault("RAY_worker_niceness", "0")  # Ray's 15 starves them on a busy host
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address is None:
        ray.init(
            address="local",  # a new runtime, never one that `ray start` left running
            num_cpus=cpus,
            include_dashboard=False,
            object_store_memory=OBJECT_STORE_BYTES,
            **options,
        )
        return
    _check_reachable(address)
    try:
        ray.init(address=address, **options)
    except (ConnectionError, RuntimeError) as exc:
        raise SurgsteerError(f"cannot join the Ray cluster at {address}: {exc}") from None


def _check_reachable(address: str) -> None:
    """Fail fast on a ``host:port`` nobody listens on (Ray itself retries for minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms Ray resolves itself
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise SurgsteerError(f"cannot reach a Ray cluster at {address}: {reason}") from None


class _Queue:
    """The shards left to score, per model, and which model each worker holds."""

    def __init__(self, works: Sequence[ModelWork]) -> None:
        self.shards = {work.path: deque(_shards(work)) for work in works}
        self.holders = {work.path: 0 for work in works}
        self.held: dict[int, Path] = {}

    def next_for(self, worker: int) -> Shard | None:
        """The next shard for ``worker``: of the model it holds if any is left."""
        path = self.held.get(worker)
        if path is None or not self.shards[path]:
            left = [path for path, shards in self.shards.items() if shards]
            if not left:
                return None
            if worker in self.held:
                self.holders[self.held[worker]] -= 1
            path = max(left, key=lambda p: len(self.shards[p]) / (1 + self.holders[p]))
            self.held[worker] = path
            self.holders[path] += 1
        return self.shards[path].popleft()


def _shards(work: ModelWork) -> list[Shard]:
    return [
        Shard(work.path, work.name, replace(unit, items=unit.items[start : start + SHARD_ITEMS]))
        for unit in work.units
        for start in range(0, len(unit.items), SHARD_ITEMS)
    ]


def _drive(actors: list[Any], works: Sequence[ModelWork], recorder: Recorder) -> float:
    """Feed the actors shards until every row is recorded; return the driver's seconds per
    row spent outside waiting for them."""
    queue = _Queue(works)
    running: dict[Any, tuple[int, Shard]] = {}

    def submit(worker: int) -> None:
        shard = queue.next_for(worker)
        if shard is not None:
            running[actors[worker].score.remote(shard)] = (worker, shard)

    started = time.perf_counter()
    waiting = 0.0
    rows = 0
    with progress() as bar:
        tasks = {work.name: bar.add_task(work.name, total=work.todo) for work in works}
        for worker in range(len(actors)):
            for _ in range(QUEUED):
                submit(worker)
        while running:
            wait_start = time.perf_counter()
            (done,), _ = ray.wait(list(running), num_returns=1)
            waiting += time.perf_counter() - wait_start
            worker, shard = running.pop(done)
            for row, seconds in _rows(done):
                recorder.add(row, seconds)
                bar.advance(tasks[shard.name])
                rows += 1
            bar.update(tasks[shard.name], description=f"{shard.name} {shard.unit.describe()}")
            submit(worker)
    return (time.perf_counter() - started - waiting) / max(rows, 1)


def _rows(done: Any) -> ScoredRows:
    """A finished shard's rows; a project error in a worker is raised here as itself."""
    try:
        return ray.get(done)
    except RayTaskError as exc:
        if isinstance(exc.cause, SurgsteerError | OSError):
            raise exc.cause from None
        raise
    except RayActorError:
        raise SurgsteerError(
            f"a Ray worker died {RESTARTS + 1} times; the rows scored so far are saved: "
            "re-run the command to go on"
        ) from None
