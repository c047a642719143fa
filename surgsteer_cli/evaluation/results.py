"""The run directory's per-item results: an append-only JSONL file that makes runs resumable.

Each scored item becomes one JSON line, written in one piece and flushed at once (and
fsync'd every :data:`SYNC_EVERY` lines and on close), so a killed run loses at most the item
in progress. Re-running resumes: items already in the file are skipped.

A kill can leave a last line without its newline; it is dropped (truncated away) with a
warning, since it cannot be a complete result. Any other line that is not a valid result
(not JSON, a field missing or of the wrong type) is an error that names the line and suggests
``--fresh``. ``run.json`` records the options that change what a result means (split, data
directories); resuming with different ones is refused. It is rewritten (atomically) only when
it changes, so a finished run in a read-only folder keeps its file untouched.

One run at a time: the store holds an exclusive ``flock`` on ``.lock`` in the directory from
before ``--fresh`` deletes anything until it is closed, and a second run into the same
directory is refused. ``flock`` (not a lock file's mere existence, nor the ``filelock``
package) because the kernel drops it when its process dies: a SIGKILLed run leaves no stale
lock to clear before resuming, and the runtime needs no extra dependency. It is POSIX-only;
where ``fcntl`` is missing (Windows) runs are not locked.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from surgsteer_cli.console import warn
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.paths import atomic_output, naming, no_follow

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

RESULTS = "results.jsonl"
RUN = "run.json"
LOCK = ".lock"
KEY_FIELDS = ("model", "setting", "language", "axis", "item")
SYNC_EVERY = 32

Key = tuple[str, str, str, str, str]


def row_key(row: dict[str, Any]) -> Key:
    """The identity of a result: model, setting, language, axis and item."""
    return tuple(str(row[name]) for name in KEY_FIELDS)  # type: ignore[return-value]


class ResultStore:
    """Results already in ``directory`` plus an append handle for new ones."""

    def __init__(self, directory: Path, run: dict[str, Any], *, fresh: bool = False) -> None:
        self.directory = Path(directory)
        self.path = self.directory / RESULTS
        self.directory.mkdir(parents=True, exist_ok=True)
        self._resources = contextlib.ExitStack()
        self._resources.callback(os.close, _lock(self.directory))
        try:
            if fresh:
                self.path.unlink(missing_ok=True)
            resuming = os.path.lexists(self.path)
            # Opened (never through a link) before anything is read or changed.
            self._handle = self._resources.enter_context(
                open(self.path, "a+", encoding="utf-8", opener=no_follow)  # noqa: SIM115
            )
            _check_run(self.directory / RUN, run, resuming=resuming)
            self.rows: dict[Key, dict[str, Any]] = _read(self.path, self._handle.buffer)
        except BaseException:
            self._resources.close()
            raise
        self._unsynced = 0

    def __contains__(self, key: Key) -> bool:
        return key in self.rows

    def add(self, row: dict[str, Any]) -> None:
        """Append one result; it is on disk (flushed) when this returns."""
        key = row_key(row)
        if key in self.rows:
            raise SurgsteerError(f"result {key} is already recorded")
        problem = row_problem(row)
        if problem:
            raise SurgsteerError(f"result {key} is not valid: {problem}")
        with naming(self.path):
            self._handle.write(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n")
            self._handle.flush()
        self.rows[key] = row
        self._unsynced += 1
        if self._unsynced >= SYNC_EVERY:
            self.sync()

    def sync(self) -> None:
        """Ask the OS to put everything written so far on the disk."""
        with naming(self.path):
            os.fsync(self._handle.fileno())
        self._unsynced = 0

    def close(self) -> None:
        """Sync and close the file, then let other runs in (idempotent)."""
        if self._handle.closed:
            return
        with naming(self.path), self._resources:
            self.sync()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_run(path: Path, run: dict[str, Any], *, resuming: bool) -> None:
    """Refuse to mix results made with different options; record the options otherwise."""
    if resuming and path.exists():
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SurgsteerError(f"{path} is unreadable ({exc}); use --fresh") from None
        changed = sorted(name for name in run if recorded.get(name) != run[name])
        if changed:
            was = ", ".join(f"{name}={recorded.get(name)}" for name in changed)
            raise SurgsteerError(
                f"{path.parent} holds results made with {was}; use the same options, "
                "another --out, or --fresh"
            )
    text = json.dumps(run, indent=1, allow_nan=False) + "\n"
    if path.is_file() and path.read_text(encoding="utf-8", errors="replace") == text:
        return
    with atomic_output(path) as partial:
        partial.write_text(text, encoding="utf-8")


def _lock(directory: Path) -> int:
    """An open descriptor holding the exclusive lock on ``directory``'s runs (see above)."""
    descriptor = no_follow(directory / LOCK, os.O_RDWR | os.O_CREAT)
    if fcntl is None:
        return descriptor
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise SurgsteerError(
            f"{directory} is in use by another running eval; wait for it to finish or choose "
            "another --out"
        ) from None
    return descriptor


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Every row of a finished run's results file (``.gz``: a compressed copy, as saved in
    ``docs/results``), for the tables made from a run after the fact."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _read(path: Path, file: BinaryIO) -> dict[Key, dict[str, Any]]:
    """Rows of the results file ``path``, open as ``file``, keyed; a torn last line is
    truncated away."""
    file.seek(0)
    data = file.read()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        file.truncate(end)
        warn(f"{path}: dropped an incomplete last line left by an interrupted run")
    rows: dict[Key, dict[str, Any]] = {}
    for number, line in enumerate(data[:end].split(b"\n")[:-1], start=1):
        try:
            row = json.loads(line)
            problem = row_problem(row) if isinstance(row, dict) else "not a JSON object"
        except ValueError:
            problem = "not JSON"
        if problem:
            raise SurgsteerError(
                f"{path}:{number}: corrupt results line ({problem}); fix it or start over "
                "with --fresh"
            )
        key = row_key(row)
        if key in rows:
            raise SurgsteerError(
                f"{path}:{number}: duplicate result for {'/'.join(key)}; "
                "was the directory written by two runs at once? Use --fresh"
            )
        rows[key] = row
    return rows


def row_problem(row: dict[str, Any]) -> str | None:
    """What makes ``row`` unusable as a result (the fields the summary reads), or None."""
    for name in KEY_FIELDS:
        if not isinstance(row.get(name), str):
            return f"{name} must be a string"
    if not isinstance(row.get("correct"), bool):
        return "correct must be true or false"
    choice = row.get("choice")
    if row["axis"] == "transfer" and (not isinstance(choice, int) or isinstance(choice, bool)):
        return "a transfer result needs an integer choice"
    scales = row.get("scales", {})
    if not isinstance(scales, dict) or not all(_finite(value) for value in scales.values()):
        return "scales must map roles to finite numbers"
    return None


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
