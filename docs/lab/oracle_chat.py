"""Lab (experiments §15): the country-naming oracle on a chat model, with eval's own prompts.

The best a LOC vector can do is make the model answer as if the question named L's country.
For each language, the first N tune-split BLEnD questions that eval would ask, answered
unsteered with country removed (what eval scores) and with the country named (BLEnD's
original), in L and in English:

    python docs/lab/oracle_chat.py 20          # SURGSTEER_MODEL=NAME|PATH for another model
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from surgsteer_cli.datasets.blend import LANGUAGE_REGION  # noqa: E402
from surgsteer_cli.engine import Engine  # noqa: E402
from surgsteer_cli.evaluation.localization import answer_row  # noqa: E402
from surgsteer_cli.evaluation.selection import load_eval_data  # noqa: E402
from surgsteer_cli.models import resolve_model  # noqa: E402

LANGUAGES = ("ko", "zh", "es", "id", "el", "fa", "ar", "az")
limit = int(sys.argv[1]) if len(sys.argv) > 1 else 20
engine = Engine(resolve_model(os.environ.get("SURGSTEER_MODEL")), n_ctx=512)
data = load_eval_data(LANGUAGES, split="tune", limit=limit, transfer="mcq")
print("| lang | items | L, removed | L, named | English, removed | English, named |")
print("|---|---|---|---|---|---|")
for language in LANGUAGES:
    items, instruction = data.localization[language], data.instructions[language]
    hits = {}
    for label, measure, field, asked in (
        ("L, removed", "native", "neutral", "neutral"),
        ("L, named", "native", "neutral", "question"),
        ("English, removed", "english", "neutral_en", "neutral_en"),
        ("English, named", "english", "neutral_en", "question_en"),
    ):
        hits[label] = sum(
            answer_row(
                engine,
                dataclasses.replace(item, **{field: getattr(item, asked)}),
                measure=measure,
                instruction=instruction,
            )["correct"]
            for item in items
        )
    cells = " | ".join(str(count) for count in hits.values())
    print(f"| {language} ({LANGUAGE_REGION[language]}) | {len(items)} | {cells} |", flush=True)
