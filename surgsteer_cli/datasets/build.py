"""Regenerate ``prompts/`` from the original BLEnD and BMLAMA files.

    python -m surgsteer_cli.datasets.build [--shared ../shared/data] [--out prompts]

Writes ``blend/<Region>.jsonl``, ``blend/instructions.json`` (BLEnD's inst-4 prompt),
``bmlama/<lang>.jsonl`` (with BMLAMA's LICENSE),
``splits.json``, and the neutralization table inside ``README.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from surgsteer_cli import console
from surgsteer_cli.datasets._io import require_file, write_jsonl
from surgsteer_cli.datasets.blend import (
    INSTRUCTIONS_FILE,
    REGION_LANGUAGE,
    BlendItem,
    load_blend,
    load_instructions,
)
from surgsteer_cli.datasets.bmlama import LANGUAGES, load_bmlama
from surgsteer_cli.datasets.neutralize import mentions_region, neutralize
from surgsteer_cli.datasets.splits import make_splits, splits_to_json
from surgsteer_cli.errors import DataError, SurgsteerError

_REPO = Path(__file__).resolve().parents[2]
_TABLE_START = "<!-- neutralization-table:start -->"
_TABLE_END = "<!-- neutralization-table:end -->"


def build(shared: Path, out: Path) -> None:
    """Write every processed file under ``out`` from the sources under ``shared``."""
    blend = load_blend(directory=shared / "blend")
    for region in REGION_LANGUAGE:
        records = [item.to_record() for item in blend if item.region == region]
        write_jsonl(out / "blend" / f"{region}.jsonl", records)
    instructions = load_instructions(REGION_LANGUAGE, directory=shared / "blend")
    text = json.dumps({r: asdict(i) for r, i in instructions.items()}, ensure_ascii=False, indent=1)
    (out / "blend" / INSTRUCTIONS_FILE).write_text(text + "\n", encoding="utf-8")

    cloze = load_bmlama(LANGUAGES, directory=shared / "bmlama")
    for language, items in cloze.items():
        write_jsonl(out / "bmlama" / f"{language}.jsonl", [item.to_record() for item in items])
    licence = require_file(shared / "bmlama" / "LICENSE", "BMLAMA licence")
    shutil.copyfile(licence, out / "bmlama" / "LICENSE")

    usable_rows = set.intersection(*({item.row for item in items} for items in cloze.values()))
    splits = make_splits({item.id for item in blend}, usable_rows)
    (out / "splits.json").write_text(splits_to_json(splits), encoding="utf-8")

    _update_readme(out / "README.md", neutralization_table(blend))


def neutralization_table(items: Sequence[BlendItem]) -> str:
    """Markdown table per region: mentions removed, English neutralized, questions scored."""
    lines = [
        "| Region | Lang | Local: mention removed | Local: never named | English: neutral "
        "| Scored (consensus) |",
        "|---|---|---|---|---|---|",
    ]
    for region, language in REGION_LANGUAGE.items():
        rows = [item for item in items if item.region == region]
        named = [item for item in rows if mentions_region(item.question, language, region)]
        removed = sum(item.neutralized for item in named)
        english = sum(neutralize(item.question_en, "en", region)[1] for item in rows)
        scored = sum(item.consensus for item in rows)
        lines.append(
            f"| {region} | {language} | {_share(removed, len(named))} "
            f"| {len(rows) - len(named)} | {_share(english, len(rows))} | {scored} |"
        )
    return "\n".join(lines)


def _share(count: int, total: int) -> str:
    return f"{count}/{total} ({count / total:.1%})" if total else "0/0"


def _update_readme(path: Path, table: str) -> None:
    text = require_file(path, "prompts README with the neutralization-table markers").read_text(
        encoding="utf-8"
    )
    start, end = text.find(_TABLE_START), text.find(_TABLE_END)
    if start < 0 or end < start:
        raise DataError(f"{path}: missing {_TABLE_START} ... {_TABLE_END} markers")
    head, tail = text[: start + len(_TABLE_START)], text[end:]
    path.write_text(f"{head}\n{table}\n{tail}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared",
        type=Path,
        default=_REPO.parent / "shared" / "data",
        help="folder holding blend/ and bmlama/ in their original layouts",
    )
    parser.add_argument(
        "--out", type=Path, default=_REPO / "prompts", help="where to write (default: prompts/)"
    )
    args = parser.parse_args(argv)
    try:
        build(args.shared, args.out)
    except SurgsteerError as exc:
        console.err.print(f"Error: {exc}", markup=False, soft_wrap=True)
        return 1
    console.info(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
