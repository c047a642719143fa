"""Lab (experiments §17): which placement, scale, band and direction makes LOC retrieve.

Each config answers the tune split's culture facts (``prompts/facts``: English, no country)
and the first N tune-split BLEnD questions in English (eval's localization-en prompt), under
each language's profile; rows go to /tmp/surgsteer-lab/sweep.jsonl, a table to stdout.

    python docs/lab/placement_sweep.py [--blend N] CONFIG...

CONFIG: ``none``; ``prompt`` (system line naming the country); ``named`` (the question names
it); ``loc:PLACEMENT:SCALE[:BAND]`` (the shipped LOC vector); ``ctx-POOL:PLACEMENT:SCALE:BAND``
(context directions of ``context.py`` at natural size times SCALE; POOL last, mean, rellast,
relmean); ``+prompt`` after any vector config adds the system line too; ``locmix:Q:P``
steers the question at scale Q and the assistant prefix at scale P with the shipped LOC
vector.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from pathlib import Path

import numpy as np

from surgsteer_cli.datasets.blend import LANGUAGE_REGION
from surgsteer_cli.datasets.facts import load_facts
from surgsteer_cli.engine import UNSTEERED, Control, Engine
from surgsteer_cli.evaluation.localization import MAX_ANSWER_TOKENS, localization_prompt
from surgsteer_cli.evaluation.matching import soft_match
from surgsteer_cli.evaluation.selection import load_eval_data
from surgsteer_cli.models import resolve_model
from surgsteer_cli.profiles import discover
from surgsteer_cli.prompting import qa_prompt
from surgsteer_cli.steering import control
from surgsteer_cli.vector_file import SteeringVector

LANGUAGES = ("ko", "zh", "es", "id", "el", "fa", "ar", "az")
LAB = Path("/tmp/surgsteer-lab")
FACT_TOKENS = 40


def country(language: str) -> str:
    return LANGUAGE_REGION[language].replace("_", " ")


def context_vector(engine: Engine, language: str, pool: str) -> SteeringVector:
    """``pool`` "last"/"mean": the shift the system line makes; "rellast"/"relmean": minus the
    other languages' mean shift (what naming any country does cancels)."""
    arrays = np.load(LAB / "context.npz")
    base = pool.removeprefix("rel")
    rows = arrays[f"{language}_{base}"]
    if pool.startswith("rel"):
        others = [arrays[f"{other}_{base}"] for other in LANGUAGES if other != language]
        rows = rows - np.mean(others, axis=0)
    directions = {n: rows[n].astype(np.float32) for n in range(1, engine.spec.n_layer)}
    return SteeringVector("loc", language, engine.spec, directions, default_scale=1.0)


def band(text: str) -> list[int]:
    start, _, end = text.partition("-")
    return list(range(int(start), int(end or start) + 1))


def setup(engine: Engine, profiles: dict, name: str, language: str):
    """(Control, system line, whether to name the country) for config ``name``."""
    base, _, extra = name.partition("+")
    system = (
        f"The user is in {country(language)}." if extra == "prompt" or base == "prompt" else None
    )
    if base in ("none", "prompt", "named"):
        return UNSTEERED, system, base == "named"
    if base.startswith("locmix:"):  # locmix:QUESTION_SCALE:PREFIX_SCALE, the answer unsteered
        _, question_scale, prefix_scale = base.split(":")
        vector = profiles[language].loc

        def buffer(scale: str) -> np.ndarray:
            return control(engine.spec, [(vector, float(scale), vector.band_layers)]).answer

        return Control(buffer(question_scale), buffer(prefix_scale), None), system, False
    kind, placement, scale, *rest = base.split(":")
    if kind == "loc":
        vector = profiles[language].loc
        layers = band(rest[0]) if rest else vector.band_layers
    else:
        vector = context_vector(engine, language, kind.split("-")[1])
        layers = band(rest[0])
    plan = control(engine.spec, [(vector, float(scale), layers)], {"loc": placement})
    return plan, system, False


def answer(engine: Engine, prompt, tokens: int) -> str:
    text = "".join(engine.generate(prompt, max_tokens=tokens, stop=["\n"]))
    return text.strip()


def country_repeats(text: str, language: str) -> bool:
    words = country(language).split()[-1]
    return len(re.findall(re.escape(words), text, re.IGNORECASE)) >= 2


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("configs", nargs="+")
    parser.add_argument("--blend", type=int, default=8)
    parser.add_argument("--split", default="tune")
    args = parser.parse_args()
    engine = Engine(resolve_model(None), n_ctx=1024, n_threads=2)
    template = engine.chat_template
    profiles = discover(engine.spec)
    facts = load_facts(LANGUAGES, args.split)
    data = load_eval_data(LANGUAGES, split=args.split, limit=args.blend, transfer="mcq")
    LAB.mkdir(exist_ok=True)
    with open(LAB / f"sweep-{args.split}.jsonl", "a", encoding="utf-8") as out:
        for name in args.configs:
            totals = {"facts": 0, "blend": 0, "repeats": 0}
            per_language = []
            for language in LANGUAGES:
                plan, system, named = setup(engine, profiles, name, language)
                engine.set_control(plan)
                right = 0
                for item in facts[language]:
                    question = item.question_named if named else item.question
                    text = answer(
                        engine,
                        qa_prompt(question, chat_template=template, system=system),
                        FACT_TOKENS,
                    )
                    ok = item.is_right(text)
                    right += ok
                    totals["repeats"] += country_repeats(text, language)
                    out.write(
                        json.dumps(
                            {
                                "config": name,
                                "lang": language,
                                "kind": "fact",
                                "id": item.id,
                                "answer": text,
                                "correct": ok,
                            },
                            ensure_ascii=False,
                        )
                        + "\n"
                    )
                blend_right = 0
                for item in data.localization[language]:
                    asked = (
                        dataclasses.replace(item, neutral_en=item.question_en) if named else item
                    )
                    prompt = localization_prompt(
                        asked, "english", data.instructions[language], template, system
                    )
                    text = answer(engine, prompt, MAX_ANSWER_TOKENS)
                    ok = soft_match(text, item.answers, item.language) or soft_match(
                        text, item.answers_en, "en"
                    )
                    blend_right += ok
                    totals["repeats"] += country_repeats(text, language)
                    out.write(
                        json.dumps(
                            {
                                "config": name,
                                "lang": language,
                                "kind": "blend",
                                "id": item.id,
                                "answer": text,
                                "correct": ok,
                            },
                            ensure_ascii=False,
                        )
                        + "\n"
                    )
                out.flush()
                totals["facts"] += right
                totals["blend"] += blend_right
                per_language.append(f"{language}:{right}/{blend_right}")
            n_facts = sum(len(v) for v in facts.values())
            n_blend = sum(len(v) for v in data.localization.values())
            counts = f"facts {totals['facts']:3d}/{n_facts} blend {totals['blend']:3d}/{n_blend}"
            line = f"{name:40s} {counts} repeats {totals['repeats']:3d}  {' '.join(per_language)}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
