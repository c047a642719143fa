"""Runs an evaluation: every model x setting x language x axis, resumably, then summarizes.

Per model: find its vectors by fingerprint, load it once (if anything is left to score), and
for each (setting, language) set the control vector and score the items not yet in the results
file. Transfer uses BMLAMA facts as four-option questions for a model with a chat template and
as cloze sentences otherwise, unless the request names the format; Localization is scored for
each requested measure (``localization.MEASURES``). English is scored
once per model, unsteered, as the Transfer reference. A (setting, language) whose vectors are
missing is skipped with a warning. The summary covers exactly the items this request selects,
so re-running a command reproduces its outputs even in a directory shared with other runs.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from surgsteer_cli.console import info, progress, warn
from surgsteer_cli.engine import Engine
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.evaluation import localization, transfer
from surgsteer_cli.evaluation.plane import localization_metrics, save_png
from surgsteer_cli.evaluation.results import Key, ResultStore, row_key
from surgsteer_cli.evaluation.scoring import Scorer
from surgsteer_cli.evaluation.selection import REFERENCE, EvalData, item_key, load_eval_data
from surgsteer_cli.evaluation.settings import Setting
from surgsteer_cli.evaluation.summary import BASELINE, Score, summarize, write_summary
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.models import model_metadata
from surgsteer_cli.profiles import Profile, discover

FORMAT = 2  # bump when the meaning of a stored result changes (2: mcq reply starts "Answer:")


@dataclass
class EvalRequest:
    """Everything one ``surgsteer eval`` invocation asks for."""

    models: Sequence[Path]
    settings: Sequence[Setting]
    languages: Sequence[str]
    out: Path
    vector_dirs: Sequence[Path] = ()
    split: str = "test"
    limit: int | None = None
    blend_dir: Path | None = None
    bmlama_dir: Path | None = None
    mcq_dir: Path | None = None
    fresh: bool = False
    transfer: str | None = None  # "mcq" or "cloze"; None: mcq for chat models, else cloze
    localization: Sequence[str] = localization.MEASURES
    threads: int | None = None  # None: the CPUs not busy when the model loads


@dataclass
class Report:
    """What a run produced: the scores, its files and the time spent per item."""

    scores: list[Score]
    files: list[Path]
    seconds_per_item: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class _Unit:
    """Items of one axis and language to score under one setting."""

    setting: Setting
    language: str
    axis: str
    items: list[Any]
    profile: Profile | None
    measure: str = ""  # the Localization measure, for localization axes


def run_eval(request: EvalRequest) -> Report:
    """Score what is missing, then write ``summary.csv``, ``summary.json`` and ``plane.png``."""
    names = _model_names(request.models)
    unknown = [m for m in request.localization if m not in localization.MEASURES]
    if unknown or not request.localization:
        raise SurgsteerError(
            f"unknown localization measure {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(localization.MEASURES)}"
        )
    metadata = {path: model_metadata(path) for path in request.models}
    formats = {path: _transfer_format(request, metadata[path]) for path in request.models}
    loaded: dict[str, EvalData] = {}
    for fmt in dict.fromkeys(formats.values()):
        loaded[fmt] = load_eval_data(
            request.languages,
            split=request.split,
            limit=request.limit,
            transfer=fmt,
            blend_dir=request.blend_dir,
            bmlama_dir=request.bmlama_dir,
            mcq_dir=request.mcq_dir,
        )
        for note in loaded[fmt].notes:
            info(note)
    transfer_dir = request.mcq_dir or request.bmlama_dir
    run = {
        "format": FORMAT,
        "split": request.split,
        "blend": str(request.blend_dir.resolve()) if request.blend_dir else "shipped",
        "transfer": str(transfer_dir.resolve()) if transfer_dir else "shipped BMLAMA",
    }
    selected: list[Key] = []
    timing: dict[str, dict[str, float]] = {}
    with ResultStore(request.out, run, fresh=request.fresh) as store:
        for path, name in zip(request.models, names, strict=True):
            spec = ModelSpec.from_metadata(metadata[path])
            data = loaded[formats[path]]
            selected += _run_model(path, name, spec, request, data, store, timing)
        rows = [store.rows[key] for key in selected if key in store.rows]
    scores = summarize(rows)
    files = [request.out / name for name in ("results.jsonl", "summary.csv", "summary.json")]
    write_summary(scores, request.out, {"run": run, "seconds_per_item": timing})
    if any(score.language != REFERENCE for score in scores):
        mcq = request.mcq_dir or set(formats.values()) == {"mcq"}
        measure = "multiple-choice accuracy" if mcq else "cloze accuracy"
        for metric in localization_metrics(scores):
            png = request.out / ("plane.png" if metric == "localization" else "plane-en.png")
            files.append(
                save_png(
                    scores,
                    png,
                    languages=request.languages,
                    transfer_measure=measure,
                    localization=metric,
                )
            )
    return Report(scores=scores, files=files, seconds_per_item=timing)


def _transfer_format(request: EvalRequest, metadata: dict[str, str]) -> str:
    """The requested Transfer format, else mcq for a model with a chat template."""
    if request.transfer:
        return request.transfer
    return "mcq" if metadata.get("tokenizer.chat_template") else "cloze"


def _run_model(
    path: Path,
    name: str,
    spec: ModelSpec,
    request: EvalRequest,
    data: EvalData,
    store: ResultStore,
    timing: dict[str, dict[str, float]],
) -> list[Key]:
    """Score one model's missing items; return the keys of all items selected for it. The
    model is loaded only if something is missing."""
    profiles = discover(spec, request.vector_dirs, strict=False)
    units = list(_plan(name, request.settings, data, profiles, request.localization))
    selected = [_key(name, unit, item) for unit in units for item in unit.items]
    todo = sum(key not in store for key in selected)
    if not todo:
        return selected
    engine = Engine(path, n_threads=request.threads)
    spent: dict[str, list[float]] = defaultdict(list)
    with Scorer(engine) as scorer, progress() as bar:
        task = bar.add_task(name, total=todo)
        for unit in units:
            items = [item for item in unit.items if _key(name, unit, item) not in store]
            if not items:
                continue
            engine.set_control(unit.setting.buffer(unit.profile, engine.spec))
            score = _scorer_for(unit, engine, scorer, data)
            bar.update(task, description=f"{name} {unit.setting.name} {unit.language} {unit.axis}")
            for item in items:
                start = time.perf_counter()
                row = _base_row(name, unit, item) | score(item)
                spent[unit.axis].append(time.perf_counter() - start)
                store.add(row)
                bar.advance(task)
    timing[name] = {axis: sum(times) / len(times) for axis, times in spent.items()}
    return selected


def _plan(
    name: str,
    settings: Sequence[Setting],
    data: EvalData,
    profiles: dict[str, Profile],
    measures: Sequence[str],
) -> Iterator[_Unit]:
    """The units of one model, skipping settings that lack vectors (one warning per
    language)."""
    if REFERENCE in data.transfer:
        yield _Unit(Setting(BASELINE), REFERENCE, "transfer", data.transfer[REFERENCE], None)
    for language in data.localization:
        profile = profiles.get(language)
        skipped = [setting for setting in settings if setting.missing(profile)]
        if skipped:
            roles = "/".join(sorted({role for s in skipped for role in s.missing(profile)}))
            names = ", ".join(setting.name for setting in skipped)
            warn(f"{name}: no {roles} vector for {language}; skipping {names} there")
        for setting in settings:
            if setting not in skipped:
                yield _Unit(setting, language, "transfer", data.transfer[language], profile)
                for measure in measures:
                    items = data.localization[language]
                    axis = localization.AXES[measure]
                    yield _Unit(setting, language, axis, items, profile, measure)


def _scorer_for(
    unit: _Unit, engine: Engine, scorer: Scorer, data: EvalData
) -> Callable[[Any], dict[str, Any]]:
    if unit.measure:
        return partial(
            localization.answer_row,
            engine,
            measure=unit.measure,
            instruction=data.instructions[unit.language],
        )
    return partial(transfer.choice_row, scorer)


def _base_row(name: str, unit: _Unit, item: Any) -> dict[str, Any]:
    return {
        "model": name,
        "setting": unit.setting.name,
        "language": unit.language,
        "axis": unit.axis,
        "item": item_key(item),
        "scales": unit.setting.scales(unit.profile),
    }


def _key(name: str, unit: _Unit, item: Any) -> Key:
    return row_key(_base_row(name, unit, item))


def _model_names(models: Sequence[Path]) -> list[str]:
    """File names without ``.gguf``; two models may not share one."""
    names = [Path(model).stem for model in models]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SurgsteerError(f"several --model files are named {', '.join(duplicates)}")
    return names
