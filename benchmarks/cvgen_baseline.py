"""llama.cpp's own ``llama-cvector-generator`` as the extraction baseline.

For each language and role it runs the stock generator (``--method pca`` and ``--method mean``,
its defaults otherwise) on the contrast prompts that ``surgsteer extract`` uses (EN: English
minus L on the BMLAMA extraction facts; LOC: the BLEnD question naming L's country minus the
same question without it), on the GGUF model. Its output is converted into surgsteer's tagged
format beside the shipped vector of the same role, so the two compare like for like:

- blocks: the generator names block N's output ``direction.(N+1)`` (it records the outputs of
  blocks 0..n_layer-2 and numbers them from 1), while llama.cpp's runtime adds
  ``direction.N`` after block N; the conversion moves it back to block N. ``--check`` shows the
  shift on the data: cos(generator, shipped EN) per block with and without it;
- sign: PCA's axis has no sign; it is turned toward the positives (the generator's mean
  direction), as surgsteer's own PCA aggregation does;
- scale: unit direction x the shipped file's norm at that block (the typical state norm of the
  same contrast prompts), the shipped band and the shipped ``default_scale``, so a scale means
  the same. The LOC direction is not orthogonalized against EN: that is surgsteer's step.

    python -m benchmarks.cvgen_baseline [--model M] [--lang ko,es] [--max-items 50] [--check]
    # -> OUT/<method>/<lang>.<role>.gguf, ready for `surgsteer eval --vectors OUT/<method>`

``--max-items`` must match the ``extract`` run behind the shipped vectors (the pair counts in
their ``surgsteer.method`` tag): 50 for qwen2.5-coder-1.5b, all for gemma3-270m.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import numpy as np

from benchmarks.stock_llama_cpp import build, pinned_version
from surgsteer_cli import vector_file
from surgsteer_cli.cpus import available_cpus
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.models import DEFAULT_MODEL, model_metadata, resolve_model
from surgsteer_cli.paths import resource_dir
from surgsteer_cli.vector_file import SteeringVector
from surgsteer_convert.contrasts import (
    LANGUAGES,
    Contrast,
    en_contrast,
    load_extraction_data,
    loc_contrast,
)

METHODS = ("pca", "mean")


def generate(
    model: Path, contrast: Contrast, method: str, work: Path, threads: int
) -> dict[int, np.ndarray]:
    """Run the stock generator on ``contrast``; return its directions by its own numbering."""
    work.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, prompts in (("positive", contrast.positives), ("negative", contrast.negatives)):
        files[name] = work / f"{name}.txt"
        files[name].write_text("".join(_escaped(prompt) + "\n" for prompt in prompts))
    out = work / f"{method}.gguf"
    command = [
        str(build() / "llama-cvector-generator"),
        "--model",
        str(model),
        "--positive-file",
        str(files["positive"]),
        "--negative-file",
        str(files["negative"]),
        "--method",
        method,
        "--ctx-size",
        "512",
        "--threads",
        str(threads),
        "--output",
        str(out),
    ]
    with (work / f"{method}.log").open("w") as log:
        subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=True)
    return _directions(out)


def convert(
    raw: dict[int, np.ndarray],
    reference: SteeringVector,
    method: str,
    toward: dict[int, np.ndarray] | None = None,
) -> SteeringVector:
    """The generator's directions as surgsteer's vector of ``reference``'s role, language,
    band, scale and norms; ``toward`` (the mean directions) orients a PCA axis."""
    directions = {}
    for block in reference.layers:
        source = raw.get(block + 1)  # block N's output is the generator's direction.(N+1)
        if source is None:
            continue
        unit = source / np.linalg.norm(source)
        if toward is not None and unit @ toward[block + 1] < 0:
            unit = -unit
        norm = np.linalg.norm(reference.directions[block])
        directions[block] = (unit * norm).astype(np.float32)
    return SteeringVector(
        role=reference.role,
        language=reference.language,
        model=reference.model,
        directions=directions,
        default_scale=reference.default_scale,
        band=reference.band,
        method=(
            f"llama-cvector-generator --method {method} (llama.cpp of llama-cpp-python "
            f"{pinned_version()}), its direction.(N+1) moved to block N"
            f"{', sign toward the mean direction' if toward is not None else ''}; contrast and "
            f"band as the shipped vector: {reference.method}"
        ),
        normalization=reference.normalization,
    )


def shift_check(raw: dict[int, np.ndarray], shipped: SteeringVector) -> dict[str, list[float]]:
    """|cos| of the shipped direction at block N with the generator's direction.(N+1) (the
    conversion) and with its direction.N (taking the name at face value)."""
    rows: dict[str, list[float]] = {"blocks": [], "moved": [], "as_named": []}
    for block in shipped.layers:
        if block + 1 not in raw:
            continue
        rows["blocks"].append(block)
        for key, source in (("moved", raw[block + 1]), ("as_named", raw.get(block))):
            rows[key].append(
                float("nan") if source is None else _abs_cos(source, shipped.directions[block])
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", default=",".join(LANGUAGES), help="languages [all eight]")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"model name or GGUF file [{DEFAULT_MODEL}]"
    )
    parser.add_argument(
        "--shipped", type=Path, help="its vectors [the shipped folder of a named model]"
    )
    parser.add_argument("--max-items", type=int, help="extraction rows/IDs per kind [all]")
    parser.add_argument("--out", type=Path, default=Path("runs/cvgen"), help="output folder")
    parser.add_argument("--threads", type=int, default=available_cpus(), help="CPU threads")
    parser.add_argument("--check", action="store_true", help="print the block-shift check")
    args = parser.parse_args()
    languages = args.lang.split(",")
    model = resolve_model(args.model)
    spec = ModelSpec.from_metadata(model_metadata(model))
    shipped_dir = args.shipped or resource_dir("vectors") / args.model
    data = load_extraction_data(languages, args.max_items)
    checks_file = args.out / "shift_check.json"
    checks = json.loads(checks_file.read_text()) if checks_file.exists() else {}
    for lang in languages:
        for role, contrast in (
            ("en", en_contrast(data, lang)),
            ("loc", loc_contrast(data, lang, "country")),
        ):
            shipped = vector_file.read(shipped_dir / f"{lang}.{role}.gguf")
            shipped.check_compatible(spec)
            work = args.out / "raw" / f"{lang}.{role}"
            started = time.perf_counter()
            raw = {
                method: generate(model, contrast, method, work, args.threads) for method in METHODS
            }
            seconds = time.perf_counter() - started
            for method in METHODS:
                toward = raw["mean"] if method == "pca" else None
                vector = convert(raw[method], shipped, method, toward)
                vector_file.write(vector, args.out / method / f"{lang}.{role}.gguf")
                checks[f"{lang}.{role}.{method}"] = shift_check(raw[method], shipped)
            pairs = len(contrast.positives)
            print(f"{lang} {role}: {pairs} pairs, both methods in {seconds:.0f} s")
    checks_file.write_text(json.dumps(checks, indent=1))  # earlier runs' languages kept
    if args.check:
        for name, rows in checks.items():
            if name.split(".")[0] not in languages:
                continue  # an earlier run's language
            moved, named = np.nanmean(rows["moved"]), np.nanmean(rows["as_named"])
            print(f"{name}: mean |cos| with shipped: moved {moved:.3f}, as named {named:.3f}")


def _escaped(prompt: str) -> str:
    """One line of a generator prompt file (it reads backslash escapes)."""
    return prompt.replace("\\", "\\\\").replace("\n", "\\n")


def _directions(path: Path) -> dict[int, np.ndarray]:
    import gguf

    reader = gguf.GGUFReader(path, "r")
    return {
        int(tensor.name.removeprefix("direction.")): np.array(tensor.data, dtype=np.float32)
        for tensor in reader.tensors
    }


def _abs_cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(abs(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b)))


if __name__ == "__main__":
    main()
