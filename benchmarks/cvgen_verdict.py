"""Does surgsteer's extraction beat llama.cpp's cvector-generator? The ``surgical`` config with
the shipped vectors and with ``benchmarks/cvgen_baseline.py``'s conversions (same contrasts,
bands, scales and norms), on the same evaluation items, as paired differences with bootstrap
95 % intervals per language and pooled.

    python -m benchmarks.cvgen_verdict --vectors runs/cvgen --lang ko,es [--limit 30]
        [--surgsteer-run docs/results/qwen-test/results.jsonl.gz] [--plane DIR]

Each vector set is evaluated into ``VECTORS/eval-<set>`` (resumable, like ``surgsteer eval``);
``--surgsteer-run`` takes the shipped vectors' ``surgical`` rows from an earlier eval of the
same model, split and ``--limit`` instead of scoring them again. ``--plane DIR`` draws the
plane (``plane.png``, ``plane-en.png``) of that earlier run's configs with the generator's
vectors added as ``surgical-cvgen-pca`` and ``surgical-cvgen-mean``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

from surgsteer_cli.evaluation.plane import save_planes
from surgsteer_cli.evaluation.results import read_rows
from surgsteer_cli.evaluation.summary import summarize
from surgsteer_cli.evaluation.verdict import item_cells, paired
from surgsteer_cli.models import DEFAULT_MODEL, resolve_model

SETS = ("surgsteer", "cvgen-pca", "cvgen-mean")
AXES = ("transfer", "localization", "localization-en")


def evaluate(name: str, vectors: Path, model: Path, languages: str, limit: int) -> Path:
    """Run ``surgsteer eval --config surgical`` with vector set ``name``; its results file."""
    out = vectors / f"eval-{name}"
    extra = [] if name == "surgsteer" else ["--vectors", str(vectors / name.split("-")[1])]
    command = [sys.executable, "-m", "surgsteer_cli", "eval", "--model", str(model)]
    command += ["--lang", languages, "--config", "surgical", "--limit", str(limit)]
    subprocess.run([*command, *extra, "--out", str(out)], check=True, stdout=subprocess.DEVNULL)
    return out / "results.jsonl"


def plane_rows(runs: dict[str, Path], languages: list[str]) -> list[dict[str, Any]]:
    """The rows of ``runs["surgsteer"]`` (every config) in ``languages`` and English, with
    each generator set's ``surgical`` rows added as ``surgical-<set>``."""
    keep = {"en", *languages}
    rows = [row for row in read_rows(runs["surgsteer"]) if row["language"] in keep]
    for name in SETS[1:]:
        rows += [
            {**row, "setting": f"surgical-{name}"}
            for row in read_rows(runs[name])
            if row["setting"] == "surgical" and row["language"] in keep
        ]
    return rows


def draw_planes(runs: dict[str, Path], languages: list[str], directory: Path) -> list[Path]:
    """``plane.png`` (native Localization) and ``plane-en.png`` of :func:`plane_rows`."""
    directory.mkdir(parents=True, exist_ok=True)
    scores = summarize(plane_rows(runs, languages))
    return save_planes(
        scores, directory, languages=languages, transfer_measure="multiple-choice accuracy"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", type=Path, default=Path("runs/cvgen"))
    parser.add_argument("--lang", default="ko,es")
    parser.add_argument("--limit", type=int, default=30, help="items per language and axis")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"model name or GGUF file [{DEFAULT_MODEL}]"
    )
    parser.add_argument("--surgsteer-run", type=Path, help="results of an earlier eval to reuse")
    parser.add_argument("--plane", type=Path, help="folder for the planes with the cvgen rows")
    args = parser.parse_args()
    model = resolve_model(args.model)
    runs = {
        name: args.surgsteer_run
        if name == "surgsteer" and args.surgsteer_run
        else evaluate(name, args.vectors, model, args.lang, args.limit)
        for name in SETS
    }
    cells = {name: item_cells(read_rows(path)) for name, path in runs.items()}
    languages = args.lang.split(",")
    if args.plane:
        for png in draw_planes(runs, languages, args.plane):
            print(f"wrote {png}")
    print(
        "| lang | axis | surgsteer | cvgen-pca | cvgen-mean | surgsteer - pca | surgsteer - mean |"
    )
    print("|---|---|---|---|---|---|---|")
    axes = [axis for axis in AXES if any(key[3] == axis for key in cells["surgsteer"])]
    for seed, axis in enumerate(axes):
        for group in [[language] for language in languages] + [languages] * (len(languages) > 1):
            scores, diffs = [], []
            for name in SETS:
                items = [cells[name][model.stem, "surgical", lang, axis] for lang in group]
                scores.append(sum(sum(c.values()) / len(c) for c in items) / len(items))
                if name != "surgsteer":
                    ours = [
                        cells["surgsteer"][model.stem, "surgical", lang, axis] for lang in group
                    ]
                    mean, low, high = paired(list(zip(ours, items, strict=True)), seed)
                    diffs.append(f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]")
            label = group[0] if len(group) == 1 else "all"
            cells_text = " | ".join(f"{score:.3f}" for score in scores)
            print(f"| {label} | {axis} | {cells_text} | " + " | ".join(diffs) + " |")


if __name__ == "__main__":
    main()
