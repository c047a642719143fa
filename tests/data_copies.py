"""Copies of the shared BLEnD and BMLAMA data under keys the project never listed, standing in
for a user's own copy or the held-out halves."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path

ROW_OFFSET = 1_000_000
"""Added to BMLAMA row numbers (BMLAMA-53 has about 3,100 rows)."""


def renamed_blend_copy(shared_data: Path, target: Path, rename: Callable[[str], str]) -> Path:
    """BLEnD's South Korea files in BLEnD's own layout, every question ID renamed."""
    source = shared_data / "blend"
    for folder in ("annotations", "questions", "prompts"):
        (target / folder).mkdir(parents=True)
    annotations = json.loads((source / "annotations" / "South_Korea_data.json").read_text())
    renamed = {rename(key): value for key, value in annotations.items()}
    (target / "annotations" / "South_Korea_data.json").write_text(json.dumps(renamed))
    with (source / "questions" / "South_Korea_questions.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with (target / "questions" / "South_Korea_questions.csv").open("w", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({**row, "ID": rename(row["ID"])} for row in rows)
    shutil.copy(source / "prompts" / "South_Korea_prompts.csv", target / "prompts")
    return target


def renumbered_bmlama_copy(shared_data: Path, target: Path, languages: list[str]) -> Path:
    """BMLAMA's files for ``languages`` with every row number moved past ``ROW_OFFSET``: rows no
    split lists, as a user's copy or the other half would have."""
    source = shared_data / "bmlama"
    target.mkdir(parents=True)
    for language in languages:
        shutil.copy(source / f"{language}.tsv", target)
    rows = (source / "rows.txt").read_text(encoding="utf-8").split()
    (target / "rows.txt").write_text("".join(f"{int(row) + ROW_OFFSET}\n" for row in rows))
    return target
