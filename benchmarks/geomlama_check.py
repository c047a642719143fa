"""GeoMLAMA's China and Iran rows with the country removed, under ``--lang zh`` / ``--lang fa``.

GeoMLAMA (Yin et al., EMNLP 2022; ``../shared/data/geomlama``, evaluation only, not shipped)
asks geo-diverse commonsense questions ("What is the staple food in China?") whose answers
differ by country. Each question is asked in English with the country removed ("What is the
staple food?"), as ``surgsteer ask --lang L`` sends it, and the model's choice among the
row's candidates is the likeliest answer (summed log-probability, through the runtime's own
steering: ``Engine.continuation_logprobs``). It is right when it is one of the country's
answers. Rows are scored under each steering request; ``named`` asks the original question,
unsteered (the ceiling from naming the country). Differences against ``none`` are paired, with
a bootstrap 95 % interval:

    python -m benchmarks.geomlama_check [--geomlama DIR] [--model NAME|PATH]
"""

from __future__ import annotations

import argparse
import csv
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from surgsteer_cli.evaluation.summary import bootstrap_ci
from surgsteer_cli.session import RuntimeOptions, Session, SteeringRequest

COUNTRIES = {"zh": ("China", "Chinese"), "fa": ("Iran", "Iranian")}
REQUESTS = {
    "none": SteeringRequest(steer=False),
    "vector": SteeringRequest(localize="vector"),
    "prompt": SteeringRequest(localize="prompt"),
    "both": SteeringRequest(localize="both"),
}
"""What each row is asked under (the language is set per row); ``named`` is added to them."""


@dataclass(frozen=True)
class Row:
    """One GeoMLAMA question about the country of ``language``."""

    language: str
    question: str  # as GeoMLAMA asks it, naming the country
    neutral: str  # the country removed
    candidates: tuple[str, ...]
    answers: frozenset[str]


def neutralize(question: str, country: str, adjective: str) -> str:
    """``question`` without its country: "In China, x" -> "X", " in the China" -> "",
    "Chinese people" -> "people", "a/an Chinese x" -> "a x", other mentions -> "this country"."""
    text = re.sub(rf"^In {country}, (\w)", lambda m: m.group(1).upper(), question)
    text = re.sub(rf" (?:in|of) (?:the )?{country}\b", "", text)
    text = re.sub(rf"\ban? {adjective} ", "a ", text)
    text = re.sub(rf"\b{adjective} ", "", text)
    return re.sub(rf"\b{country}\b", "this country", text)


def load_rows(directory: Path) -> list[Row]:
    """China and Iran rows of the English file."""
    rows = []
    with (directory / "gd_prompt_en.tsv").open(encoding="utf-8") as handle:
        for record in csv.DictReader(handle, delimiter="\t"):
            question = (record.get("Corresponding Questions") or "").strip()
            for language, (country, adjective) in COUNTRIES.items():
                if re.search(rf"\b(?:{country}|{adjective})\b", question):
                    rows.append(
                        Row(
                            language,
                            question,
                            neutralize(question, country, adjective),
                            tuple(c.strip() for c in record["Candidate Ans"].split(",")),
                            frozenset(a.strip() for a in record["Ans"].split(",")),
                        )
                    )
    return rows


def choice_is_right(session: Session, row: Row, config: str) -> bool:
    """Whether the likeliest candidate under ``config`` is one of the row's answers."""
    if config == "named":
        steering = session.steering(row.question, SteeringRequest(steer=False))
        question = row.question
    else:
        asked = replace(REQUESTS[config], language=row.language)
        steering = session.steering(row.neutral, asked)
        question = row.neutral
    session.apply(steering)
    prompt = session.prompt(question, system=steering.system)
    scores = session.engine.continuation_logprobs(prompt, [f" {c}" for c in row.candidates])
    return row.candidates[int(np.argmax(scores))] in row.answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "geomlama"
    parser.add_argument("--geomlama", type=Path, default=default)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    rows = load_rows(args.geomlama)
    session = Session.open(RuntimeOptions(model=args.model, n_ctx=1024))
    configs = ["none", "named", *[name for name in REQUESTS if name != "none"]]
    outcomes = {
        config: np.array([choice_is_right(session, row, config) for row in rows], dtype=float)
        for config in configs
    }
    languages = np.array([row.language for row in rows])
    print(f"GeoMLAMA (English, country removed), {session.engine.path.name}")
    print("| config | China (zh) | Iran (fa) | both | − none [95 % CI] |")
    print("|---|---|---|---|---|")
    for seed, config in enumerate(configs):
        right = outcomes[config]
        cells = [
            f"{int(right[languages == lang].sum())}/{int((languages == lang).sum())}"
            for lang in COUNTRIES
        ]
        diff = right - outcomes["none"]
        low, high = bootstrap_ci([diff], np.random.default_rng(seed))
        delta = "—" if config == "none" else f"{diff.mean():+.3f} [{low:+.3f}, {high:+.3f}]"
        print(f"| {config} | {' | '.join(cells)} | {int(right.sum())}/{len(rows)} | {delta} |")
    print("\nQuestions as asked (country removed):")
    for row in rows:
        print(f"- {row.language}: {row.neutral}  [{', '.join(sorted(row.answers))}]")


if __name__ == "__main__":
    main()
