"""Lab (experiments §13): letter-question Transfer under steering settings, tune split.

``python docs/lab/mcq_settings.py ko,fa 30 none en-mid:en=0.15 en-mid:enl=22-24:en=0.1``
prints, per setting, the right answers per language of the first N tune-split questions.
A setting is a config with optional ``:en=S``, ``:loc=S``, ``:enl=A-B``, ``:locl=A-B``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from surgsteer_cli.engine import Engine  # noqa: E402
from surgsteer_cli.evaluation.scoring import Scorer  # noqa: E402
from surgsteer_cli.evaluation.selection import load_eval_data  # noqa: E402
from surgsteer_cli.evaluation.settings import Setting  # noqa: E402
from surgsteer_cli.evaluation.transfer import mcq_row  # noqa: E402
from surgsteer_cli.models import resolve_model  # noqa: E402
from surgsteer_cli.profiles import discover  # noqa: E402


def setting(text: str) -> Setting:
    config, *options = text.split(":")
    given = dict(option.split("=") for option in options)
    scale = {role: float(given[role]) for role in ("en", "loc") if role in given}
    return Setting(config, scale.get("en"), scale.get("loc"), given.get("enl"), given.get("locl"))


languages, limit = sys.argv[1].split(","), int(sys.argv[2])
data = load_eval_data(languages, split="tune", limit=limit, transfer="mcq")
engine = Engine(resolve_model(None), n_threads=2)
scorer = Scorer(engine)
profiles = discover(engine.spec, [], strict=False)
for text in sys.argv[3:]:
    start, right = time.time(), {}
    for language in languages:
        engine.set_control(setting(text).buffer(profiles[language], engine.spec))
        right[language] = sum(mcq_row(scorer, item)["correct"] for item in data.transfer[language])
    cells = " ".join(f"{language}={n:2d}" for language, n in right.items())
    print(
        f"{text:28s} {cells}  sum={sum(right.values())}/{limit * len(languages)}  "
        f"{time.time() - start:.0f}s",
        flush=True,
    )
