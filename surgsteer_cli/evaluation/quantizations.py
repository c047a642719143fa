"""One eval run over several files of a model (its quantizations): which files, what each is,
and the plane and tables that compare them.

- ``model_files``: the files ``eval --model`` names (names, paths, comma lists, globs);
- ``prepare``: with ``--quantize``, each source plus its quantizations, made through
  ``quantize`` (a quantized source goes through F16) into the run's ``models/`` folder, each
  made once: a resumed run reuses the files;
- ``describe``: quantization type (``general.file_type``), file size and bits per weight
  (tensor bytes x 8 / weights, llama.cpp's own measure) of a file, read from its GGUF;
- ``save``: ``models.json`` (each file of the run, keyed by its row name), and for two or more
  files ``quantizations.json``, ``quantizations.md`` and ``quantizations.png``: one point per
  (file, config), the points of a config joined in order of bits, both Localization measures;
  per file the surgical - none and file - best-file differences as paired bootstrap intervals,
  the share of native answers in the question's language, items per second and decode tokens
  per second (from the ``seconds`` and ``decode_s`` the rows record).
"""

from __future__ import annotations

import glob
import hashlib
import json
import mmap
import struct
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.evaluation.answer_language import in_english
from surgsteer_cli.evaluation.plane import (
    LOCALIZATION_LABELS,
    Point,
    localization_metrics,
    points,
)
from surgsteer_cli.evaluation.selection import REFERENCE
from surgsteer_cli.evaluation.summary import ALL, BASELINE, Score
from surgsteer_cli.evaluation.verdict import Cells, item_cells, paired
from surgsteer_cli.models import resolve_model
from surgsteer_cli.paths import atomic_output
from surgsteer_cli.quantize import quantize
from surgsteer_cli.untrusted import printable

MODELS = "models"  # the run directory's folder of --quantize outputs
GLOB_CHARACTERS = frozenset("*?[")
AXES = ("transfer", "localization", "localization-en")
AXIS_NAMES = {"transfer": "Transfer", "localization": "Loc (native)", "localization-en": "Loc (En)"}
STEERED = "surgical"

Rows = Sequence[dict[str, Any]]


@dataclass(frozen=True)
class ModelFile:
    """One evaluated file: its row name, path, quantization and size."""

    name: str
    path: str
    quantization: str
    bytes: int
    bits_per_weight: float
    weights: int


def model_files(values: Iterable[str]) -> list[Path]:
    """The files named by ``--model`` values: each a comma list of names, paths and globs
    (a glob matching nothing is an error; a path that exists is taken as written, brackets
    and all), in the order given, without repeats."""
    paths: list[Path] = []
    for value in values:
        for part in (piece.strip() for piece in value.split(",")):
            if not part:
                continue
            if GLOB_CHARACTERS & set(part) and not Path(part).expanduser().exists():
                matches = sorted(glob.glob(str(Path(part).expanduser())))
                if not matches:
                    raise SurgsteerError(f"no model file matches {part}")
                paths += [resolve_model(match) for match in matches]
            else:
                paths.append(resolve_model(part))
    return list(dict.fromkeys(paths))


def prepare(
    sources: Sequence[Path],
    types: Sequence[str],
    out: Path,
    *,
    threads: int | None = None,
    notify: Callable[[str], None] = lambda message: None,
) -> list[Path]:
    """``sources`` followed by their ``types`` quantizations in ``out/models``, made only where
    missing."""
    made = []
    for source in sources:
        made += quantize(
            source, types, out / MODELS, threads=threads, notify=notify, keep_existing=True
        )
    return list(dict.fromkeys([*sources, *made]))


def describe(path: Path, name: str, directory: Path) -> ModelFile:
    """What ``path`` is (module doc); ``name`` is the model name its rows carry. A file inside
    the run ``directory`` is recorded by its path there, so the run can be moved."""
    import gguf

    file_type, weights, tensor_bytes = _read_header(path)
    try:
        quantization = "unknown" if file_type is None else gguf.LlamaFileType(file_type).name
    except ValueError:
        quantization = f"file type {file_type}"
    return ModelFile(
        name=name,
        path=_relative(path, directory),
        quantization=quantization.removeprefix("MOSTLY_").removeprefix("ALL_"),
        bytes=path.stat().st_size,
        bits_per_weight=round(8 * tensor_bytes / max(weights, 1), 3),
        weights=weights,
    )


_SCALARS = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}  # GGUF types
_STRING, _ARRAY, _FILE_TYPE = 8, 9, "general.file_type"


def _read_header(path: Path) -> tuple[int | None, int, int]:
    """``general.file_type``, the number of weights and their bytes, from a GGUF header
    (gguf-py's reader parses every vocabulary string into objects: 30 s for Gemma's 262k)."""
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        position = 4 + 4  # magic and version: resolve_model checked the magic

        def take(fmt: str) -> int:
            nonlocal position
            if position + struct.calcsize(fmt) > len(data):
                raise SurgsteerError(f"{path}: the GGUF header ends early")
            (value,) = struct.unpack_from(fmt, data, position)
            position += struct.calcsize(fmt)
            return value

        def skip(kind: int) -> None:
            nonlocal position
            if kind == _STRING:
                length = take("<Q")  # before the +=, which would read the old position
                position += length
            elif kind == _ARRAY:
                item, count = take("<I"), take("<Q")
                if item in _SCALARS:
                    position += count * _SCALARS[item]
                else:
                    for _ in range(min(count, len(data))):  # each item takes >= 8 bytes
                        skip(item)
            elif kind in _SCALARS:
                position += _SCALARS[kind]
            else:
                raise SurgsteerError(f"{path}: unknown GGUF value type {kind}")

        tensors, keys = take("<Q"), take("<Q")
        file_type = None
        for _ in range(keys):
            length = take("<Q")
            key = bytes(data[position : position + length])
            position += length
            kind = take("<I")
            if key.decode(errors="replace") == _FILE_TYPE and kind == 4:
                file_type = take("<I")
            else:
                skip(kind)
        weights = tensor_bytes = 0
        for _ in range(tensors):
            skip(_STRING)  # the name
            count = 1
            for _ in range(take("<I")):
                count *= take("<Q")
            try:
                block, size = GGML_QUANT_SIZES[GGMLQuantizationType(take("<I"))]
            except (ValueError, KeyError):
                raise SurgsteerError(f"{path}: a tensor of unknown type") from None
            take("<Q")  # the offset
            weights += count
            tensor_bytes += count // block * size
    return file_type, weights, tensor_bytes


def save(
    directory: Path,
    scores: Sequence[Score],
    rows: Rows,
    files: Sequence[ModelFile],
    *,
    languages: Sequence[str],
    transfer_measure: str,
) -> list[Path]:
    """Write ``models.json`` and, for two or more files, the quantization plane and tables."""
    written = [_write_json(directory / "models.json", {f.name: asdict(f) for f in files})]
    if len(files) < 2 or not localization_metrics(scores):
        return written
    files = sorted(files, key=lambda f: -f.bits_per_weight)
    report = compare(scores, rows, files)
    written.append(_write_json(directory / "quantizations.json", report))
    text = tables(report, languages)
    with atomic_output(directory / "quantizations.md") as partial:
        partial.write_text(text, encoding="utf-8")
    written.append(directory / "quantizations.md")
    written.append(
        save_png(scores, files, directory / "quantizations.png", languages, transfer_measure)
    )
    return written


def compare(scores: Sequence[Score], rows: Rows, files: Sequence[ModelFile]) -> dict[str, Any]:
    """The numbers of ``quantizations.json``: per file (most bits first) its description,
    speed and differences, and per (file, setting) its scores and answer-language rate."""
    cells = item_cells(rows)
    best = files[0].name
    in_language = _answer_language(rows)
    languages = sorted({row["language"] for row in rows} - {REFERENCE})
    result: dict[str, Any] = {"languages": languages, "files": [], "points": []}
    for file in files:
        entry: dict[str, Any] = asdict(file) | _speed(rows, file.name)
        entry[f"{STEERED} - {BASELINE}"] = {
            axis: _paired(cells, (file.name, STEERED), (file.name, BASELINE), axis) for axis in AXES
        }
        entry[f"vs {best} ({BASELINE})"] = {
            axis: _paired(cells, (file.name, BASELINE), (best, BASELINE), axis) for axis in AXES
        }
        result["files"].append(entry)
    by_cell = {(s.model, s.setting, s.metric): s for s in scores if s.language == ALL}
    names = {file.name for file in files}
    for model, setting in dict.fromkeys((model, setting) for model, setting, _ in by_cell):
        if model not in names:
            continue
        entry = {"model": model, "setting": setting}
        for axis in AXES:
            score = by_cell.get((model, setting, axis))
            entry[axis] = None if score is None else _interval(score)
        entry["answers_in_language"] = in_language.get((model, setting))
        result["points"].append(entry)
    return result


def tables(report: dict[str, Any], languages: Sequence[str]) -> str:
    """The two Markdown tables of ``quantizations.md``: per file, and per (file, setting)."""
    files = report["files"]
    best = files[0]
    steered, versus = f"{STEERED} - {BASELINE}", f"vs {best['name']} ({BASELINE})"
    columns = [f"{steered}: {AXIS_NAMES[a]}" for a in AXES]
    columns += [f"{BASELINE}, vs {best['quantization']}: {AXIS_NAMES[a]}" for a in AXES]
    lines = [
        f"Languages: {', '.join(languages)}; means over languages [95 % bootstrap interval]; "
        "differences are paired (the same items on both sides).",
        "",
        "| file | type | bits/weight | MB | items/s | decode tok/s | " + " | ".join(columns) + " |",
        "|---|---|---:|---:|---:|---:|" + "---:|" * len(columns),
    ]
    for file in files:
        cells = [_difference(file[steered][a]) for a in AXES]
        cells += [_difference(file[versus][a]) for a in AXES]
        lines.append(
            f"| {_md(file['name'])} | {file['quantization']} | {file['bits_per_weight']:.2f} | "
            f"{file['bytes'] / 1e6:.0f} | {_number(file['items_per_s'], 2)} | "
            f"{_number(file['decode_tokens_per_s'], 1)} | " + " | ".join(cells) + " |"
        )
    types = {file["name"]: file["quantization"] for file in files}
    lines += [
        "",
        "| file | type | setting | "
        + " | ".join(AXIS_NAMES[a] for a in AXES)
        + " | native answers in L |",
        "|---|---|---|" + "---:|" * (len(AXES) + 1),
    ]
    for point in report["points"]:
        rate = point["answers_in_language"]
        lines.append(
            f"| {_md(point['model'])} | {types[point['model']]} | {_md(point['setting'])} | "
            + " | ".join(_scored(point[a]) for a in AXES)
            + f" | {'—' if rate is None else f'{rate:.0%}'} |"
        )
    return "\n".join(lines) + "\n"


def save_png(
    scores: Sequence[Score],
    files: Sequence[ModelFile],
    path: Path,
    languages: Sequence[str],
    transfer_measure: str,
) -> Path:
    """The plane across quantizations, one panel per Localization measure: a colour per
    setting, its points (95 % intervals as bars) joined from most to fewest bits."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = localization_metrics(scores)
    order = {file.name: index for index, file in enumerate(files)}
    labels = {file.name: file.quantization for file in files}
    fig, axes = plt.subplots(1, len(metrics), figsize=(7 * len(metrics), 6), dpi=150, squeeze=False)
    colors = plt.get_cmap("tab10")
    for ax, metric in zip(axes[0], metrics, strict=True):
        by_setting: dict[str, list[Point]] = defaultdict(list)
        for point in points(scores, metric):
            if point.model in order:
                by_setting[point.setting].append(point)
        for index, (setting, line) in enumerate(by_setting.items()):
            line.sort(key=lambda p: order[p.model])
            color = colors(index % colors.N)
            xs = [p.transfer.score for p in line]
            ys = [p.localization.score for p in line]
            ax.plot(xs, ys, "-", color=color, alpha=0.6, label=setting)
            ax.errorbar(
                xs,
                ys,
                xerr=_bars([p.transfer for p in line]),
                yerr=_bars([p.localization for p in line]),
                fmt="o",
                color=color,
                markersize=5,
                capsize=2,
                elinewidth=0.8,
                alpha=0.8,
            )
            for p, x, y in zip(line, xs, ys, strict=True):
                ax.annotate(labels[p.model], (x, y), xytext=(4, 3), textcoords="offset points",
                            fontsize=6, color=color)  # fmt: skip
        ax.set_xlabel(f"Transfer: {transfer_measure}, mean over {len(languages)} languages")
        ax.set_ylabel(f"Localization: {LOCALIZATION_LABELS[metric]}", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(title="setting (lines: most → fewest bits)", fontsize=8, loc="best")
    fig.suptitle(
        f"Transfer–Localization across quantizations ({', '.join(languages)}); bars: 95 % CI"
    )
    fig.tight_layout()
    with atomic_output(path) as partial:
        fig.savefig(partial, format="png")
    plt.close(fig)
    return path


def _paired(
    cells: Cells, ours: tuple[str, str], theirs: tuple[str, str], axis: str
) -> dict[str, float | int] | None:
    """``verdict.paired`` of ``ours - theirs`` on ``axis`` over the languages both scored
    (English, the Transfer reference, left out), with the number of paired items; None where
    the two share no item."""
    languages = sorted(
        language
        for model, setting, language, cell_axis in cells
        if (model, setting, cell_axis) == (*ours, axis) and language != REFERENCE
    )
    pairs = [
        (cells[(*ours, language, axis)], cells.get((*theirs, language, axis), {}))
        for language in languages
    ]
    pairs = [(a, b) for a, b in pairs if a.keys() & b.keys()]
    if not pairs:
        return None
    seed = hashlib.sha256(f"{ours}|{theirs}|{axis}".encode()).digest()
    mean, low, high = paired(pairs, int.from_bytes(seed[:8], "little"))
    n = sum(len(a.keys() & b.keys()) for a, b in pairs)
    return {"mean": mean, "low": low, "high": high, "n": n}


def _answer_language(rows: Rows) -> dict[tuple[str, str], float]:
    """Per (model, setting): the share of answers to native questions detected as written in
    the question's language (rather than English)."""
    answers: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for row in rows:
        if row["axis"] == "localization" and isinstance(row.get("prediction"), str):
            english = in_english(row["prediction"], row["language"])
            answers[row["model"], row["setting"]].append(not english)
    return {cell: sum(found) / len(found) for cell, found in answers.items()}


def _speed(rows: Rows, model: str) -> dict[str, float | None]:
    """Items scored per second, and llama.cpp's decode tokens per second over the generated
    answers, from what ``model``'s rows record (None where they record nothing)."""
    seconds = [row["seconds"] for row in rows if row["model"] == model and "seconds" in row]
    tokens = decode_s = 0.0
    for row in rows:
        if row["model"] == model and "decode_s" in row:
            tokens += row["decoded_tokens"]
            decode_s += row["decode_s"]
    return {
        "items_per_s": len(seconds) / sum(seconds) if seconds and sum(seconds) > 0 else None,
        "decode_tokens_per_s": tokens / decode_s if decode_s > 0 else None,
    }


def _relative(path: Path, directory: Path) -> str:
    resolved = path.resolve()
    if resolved.is_relative_to(directory.resolve()):
        return str(resolved.relative_to(directory.resolve()))
    return str(resolved)


def _interval(score: Score) -> dict[str, float | int]:
    return {"score": score.score, "low": score.ci_low, "high": score.ci_high, "n": score.n}


def _bars(scores: Sequence[Score]) -> list[list[float]]:
    return [[s.score - s.ci_low for s in scores], [s.ci_high - s.score for s in scores]]


def _difference(value: dict[str, float] | None) -> str:
    if value is None:
        return "—"
    return f"{value['mean']:+.3f} [{value['low']:+.2f}, {value['high']:+.2f}]"


def _scored(value: dict[str, float] | None) -> str:
    if value is None:
        return "—"
    return f"{value['score']:.3f} [{value['low']:.2f}, {value['high']:.2f}]"


def _number(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _md(text: str) -> str:
    """Untrusted text (a file or setting name) as one Markdown table cell."""
    return printable(text).replace("\\", "\\\\").replace("|", "\\|")


def _write_json(path: Path, value: object) -> Path:
    with atomic_output(path) as partial:
        partial.write_text(json.dumps(value, indent=1, ensure_ascii=False) + "\n", "utf-8")
    return path
