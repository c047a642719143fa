"""Small readers shared by the dataset loaders; every failure becomes a one-line DataError."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from surgsteer_cli import paths
from surgsteer_cli.errors import DataError

T = TypeVar("T")

_LABELS = {"blend": "BLEnD", "bmlama": "BMLAMA"}
REGENERATE = "regenerate with `python -m surgsteer_cli.datasets.build`"


def require_file(path: Path, what: str) -> Path:
    """Return ``path`` if it is a file, else raise DataError saying what was expected."""
    if not path.is_file():
        raise DataError(f"{path} not found ({what})")
    return path


def read_json(path: Path) -> Any:
    """Parse a JSON file."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the JSON object on each non-blank line of ``path``."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise DataError(f"{path}:{number}: expected a JSON object")
        yield record


def load_shipped(dataset: str, name: str, from_record: Callable[[dict[str, Any]], T]) -> list[T]:
    """The records of ``prompts/<dataset>/<name>.jsonl`` shipped with surgsteer, parsed."""
    path = paths.resource_dir("prompts") / dataset / f"{name}.jsonl"
    label = _LABELS.get(dataset, dataset)
    require_file(path, f"shipped {label} data ({REGENERATE})")
    try:
        return [from_record(record) for record in read_jsonl(path)]
    except (KeyError, TypeError) as exc:
        raise DataError(f"{path}: malformed {label} record ({exc})") from exc


def read_table(path: Path, columns: tuple[str, ...], tsv: bool = False) -> list[dict[str, str]]:
    """Read a CSV (or quote-free TSV) file whose header has at least ``columns`` into dicts."""
    dialect = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if tsv else {}
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle, **dialect)
            missing = [column for column in columns if column not in (reader.fieldnames or ())]
            if missing:
                raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
            return list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    """Write one compact JSON object per line (UTF-8, non-ASCII kept readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    path.write_text(text, encoding="utf-8")
