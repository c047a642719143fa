"""Does surgical steering beat the baselines? Issue 6's test, per language, from an eval run.

For each model and language in ``results.jsonl``: surgical vs en-all and vs en-mid on
Transfer, surgical vs none on Localization, each as a paired difference on the same items with
a bootstrap 95 % interval (items resampled, both settings together). A language passes when
surgical is not below any baseline and at least one difference is above zero beyond its
interval. Run after ``surgsteer eval`` (all five configs at their default scales):

    python benchmarks/plane_verdict.py runs/plane/results.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from surgsteer_cli.evaluation.summary import bootstrap_ci  # noqa: E402

COMPARISONS = (("transfer", "en-all"), ("transfer", "en-mid"), ("localization", "none"))


def load(path: Path) -> dict[tuple[str, str, str, str], dict[str, float]]:
    """(model, setting, language, axis) -> {item: 1.0 if correct else 0.0}."""
    cells: dict[tuple[str, str, str, str], dict[str, float]] = defaultdict(dict)
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            key = (row["model"], row["setting"], row["language"], row["axis"])
            cells[key][row["item"]] = float(row["correct"])
    return cells


def paired(
    ours: dict[str, float], theirs: dict[str, float], seed: int
) -> tuple[float, float, float]:
    """Mean difference (ours - theirs) on the shared items, with its bootstrap 95 % interval."""
    items = sorted(ours.keys() & theirs.keys())
    diff = np.array([ours[item] - theirs[item] for item in items])
    low, high = bootstrap_ci([diff], np.random.default_rng(seed))
    return float(diff.mean()), low, high


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    cells = load(parser.parse_args().results)
    models = sorted({model for model, *_ in cells})
    header = [f"surgical - {base} ({axis[:3]})" for axis, base in COMPARISONS]
    print("| model | lang | " + " | ".join(header) + " | verdict |")
    print("|---|---|" + "---|" * len(header) + "---|")
    for model in models:
        languages = sorted({lang for m, s, lang, _ in cells if m == model and s == "surgical"})
        for language in languages:
            results, verdicts = [], []
            for seed, (axis, base) in enumerate(COMPARISONS):
                ours = cells.get((model, "surgical", language, axis))
                theirs = cells.get((model, base, language, axis))
                if not ours or not theirs:
                    results.append("—")
                    continue
                mean, low, high = paired(ours, theirs, seed)
                results.append(f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]")
                verdicts.append((mean >= 0, low > 0))
            won = verdicts and all(ok for ok, _ in verdicts) and any(sure for _, sure in verdicts)
            verdict = "pass" if won else "fail"
            print(f"| {model} | {language} | " + " | ".join(results) + f" | {verdict} |")


if __name__ == "__main__":
    main()
