"""Copies of the shared BLEnD and BMLAMA data under keys the project never listed, standing in
for a user's own copy or the held-out halves (BMLAMA's dev half holds the even rows)."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path


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


def odd_rows_bmlama_copy(shared_data: Path, target: Path, languages: list[str]) -> Path:
    """BMLAMA's files for ``languages`` with every row number moved to the next (odd) one:
    the rows of the half the project has never seen."""
    source = shared_data / "bmlama"
    target.mkdir(parents=True)
    for language in languages:
        shutil.copy(source / f"{language}.tsv", target)
    rows = (source / "rows.txt").read_text(encoding="utf-8").split()
    (target / "rows.txt").write_text("".join(f"{int(row) + 1}\n" for row in rows))
    return target
