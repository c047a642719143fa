"""The localization verdict of an eval run with the ``prompt`` reference: per setting, Transfer,
the Localization measures, each one's share of the ceiling's gain and known-facts accuracy
(``summary.json``), and how the answers to English questions read: detected as English, and
repeating the country's name (a LOC vector that drowns the answer repeats it).

    python -m benchmarks.localize_report docs/results/qwen-test-localize
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

from surgsteer_cli.datasets.blend import LANGUAGE_REGION
from surgsteer_cli.evaluation.answer_language import in_english
from surgsteer_cli.evaluation.results import read_rows
from surgsteer_cli.evaluation.selection import LANGUAGES, load_eval_data

MEASURES = {"localization-en": "BLEnD, English", "localization-facts": "facts"}


def country_repeated(text: str, language: str) -> bool:
    """Whether ``text`` names the language's country (its last word) twice or more."""
    name = LANGUAGE_REGION[language].split("_")[-1]
    return len(re.findall(re.escape(name), text, re.IGNORECASE)) >= 2


def interval(value: float | None, low: float | None, high: float | None, sign: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:{sign}.2f} [{low:{sign}.2f}, {high:{sign}.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--limit", type=int, help="the run's --limit (its answers only)")
    args = parser.parse_args()
    run = args.run
    languages = sorted(LANGUAGE_REGION.keys() & set(LANGUAGES))
    data = load_eval_data(languages, split="test", limit=args.limit, transfer="mcq")
    chosen = {
        (lang, "localization-en", item.id)
        for lang, items in data.localization.items()
        for item in items
    }
    chosen |= {
        (lang, "localization-facts", item.id)
        for lang, items in data.facts.items()
        for item in items
    }
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    scores = {(s["setting"], s["metric"]): s for s in summary["scores"] if s["language"] == "all"}
    shares = {(s["setting"], s["metric"], s["language"]): s for s in summary["ceiling"]}
    settings = list(dict.fromkeys(setting for setting, _ in scores))
    answers, english, repeated = Counter(), Counter(), Counter()
    selected = {(s["setting"]) for s in summary["scores"]}
    saved = run / "results.jsonl.gz"
    for row in read_rows(saved if saved.exists() else run / "results.jsonl"):
        if row["setting"] in selected and (row["language"], row["axis"], row["item"]) in chosen:
            answers[row["setting"]] += 1
            english[row["setting"]] += in_english(row["prediction"], row["language"])
            repeated[row["setting"]] += country_repeated(row["prediction"], row["language"])
    limit = f" --limit {args.limit}" if args.limit else ""
    print(f"$ python -m benchmarks.localize_report {run}{limit}")
    print()
    print("Mean over languages [95 % CI]; gain, share of the ceiling's gain (prompt − none) and")
    print("known-facts accuracy (on the items prompt answers right) per Localization measure.")
    print()
    head = ["setting", "Transfer (letters)"]
    for label in MEASURES.values():
        head += [label, f"{label}: share of ceiling", f"{label}: known"]
    head += ["English answers", "country repeated"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for setting in settings:
        cells = [setting, interval(*_triple(scores.get((setting, "transfer"))))]
        for metric in MEASURES:
            cells.append(interval(*_triple(scores.get((setting, metric)))))
            share = shares.get((setting, metric, "all"))
            if share is None:
                cells += ["—", "—"]
                continue
            cells.append(interval(share["share"], share["share_low"], share["share_high"]))
            known = share["known"]
            cells.append("—" if known is None else f"{known:.2f} of {share['known_n']}")
        total = answers[setting] or 1
        cells += [f"{english[setting] / total:.0%}", f"{repeated[setting] / total:.0%}"]
        print("| " + " | ".join(cells) + " |")
    print()
    print("Per language, facts: share of the ceiling's gain (gain / ceiling gain)")
    languages = sorted({s["language"] for s in summary["ceiling"]} - {"all"})
    print("| setting | " + " | ".join(languages) + " |")
    print("|" + "---|" * (len(languages) + 1))
    for setting in settings:
        cells = []
        for language in languages:
            share = shares.get((setting, "localization-facts", language))
            if share is None:
                cells.append("—")
                continue
            ratio = "—" if share["share"] is None else f"{share['share']:.2f}"
            cells.append(f"{ratio} ({share['gain']:+.2f}/{share['ceiling_gain']:+.2f})")
        if any(cell != "—" for cell in cells):
            print(f"| {setting} | " + " | ".join(cells) + " |")


def _triple(score: dict | None) -> tuple[float | None, float | None, float | None]:
    if score is None:
        return None, None, None
    return score["score"], score["ci_low"], score["ci_high"]


if __name__ == "__main__":
    main()
