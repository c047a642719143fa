"""The run directory's per-item results: an append-only JSONL file that makes runs resumable.

Each scored item becomes one JSON line, written in one piece and flushed at once (and
fsync'd every :data:`SYNC_EVERY` lines and on close), so a killed run loses at most the item
in progress. Re-running resumes: items already in the file are skipped.

A kill can leave a last line without its newline; it is dropped (truncated away) with a
warning, since it cannot be a complete result. Any other unreadable line is an error that
names the line and suggests ``--fresh``. ``run.json`` records the options that change what a
result means (split, data directories); resuming with different ones is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from surgsteer_cli.console import warn
from surgsteer_cli.errors import SurgsteerError

RESULTS = "results.jsonl"
RUN = "run.json"
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
        if fresh:
            self.path.unlink(missing_ok=True)
        _check_run(self.directory / RUN, run, resuming=self.path.exists())
        self.rows: dict[Key, dict[str, Any]] = _read(self.path) if self.path.exists() else {}
        self._handle = self.path.open("a", encoding="utf-8")
        self._unsynced = 0

    def __contains__(self, key: Key) -> bool:
        return key in self.rows

    def add(self, row: dict[str, Any]) -> None:
        """Append one result; it is on disk (flushed) when this returns."""
        key = row_key(row)
        if key in self.rows:
            raise SurgsteerError(f"result {key} is already recorded")
        self._handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._handle.flush()
        self.rows[key] = row
        self._unsynced += 1
        if self._unsynced >= SYNC_EVERY:
            self.sync()

    def sync(self) -> None:
        """Ask the OS to put everything written so far on the disk."""
        os.fsync(self._handle.fileno())
        self._unsynced = 0

    def close(self) -> None:
        """Sync and close the file (idempotent)."""
        if not self._handle.closed:
            self.sync()
            self._handle.close()

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
    path.write_text(json.dumps(run, indent=1) + "\n", encoding="utf-8")


def _read(path: Path) -> dict[Key, dict[str, Any]]:
    """Rows of an existing results file, keyed; a torn last line is truncated away."""
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        os.truncate(path, end)
        warn(f"{path}: dropped an incomplete last line left by an interrupted run")
    rows: dict[Key, dict[str, Any]] = {}
    for number, line in enumerate(data[:end].split(b"\n")[:-1], start=1):
        try:
            row = json.loads(line)
            key = row_key(row)
        except (ValueError, KeyError, TypeError):
            raise SurgsteerError(
                f"{path}:{number}: corrupt results line; fix it or start over with --fresh"
            ) from None
        if key in rows:
            raise SurgsteerError(
                f"{path}:{number}: duplicate result for {'/'.join(key)}; "
                "was the directory written by two runs at once? Use --fresh"
            )
        rows[key] = row
    return rows
