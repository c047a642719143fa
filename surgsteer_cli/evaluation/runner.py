"""Runs an evaluation: every model x setting x language x axis, resumably, then summarizes.

Per model: find its vectors by fingerprint, load it once (if anything is left to score), and
for each (setting, language) set the control vector and score the items not yet in the results
file. Transfer uses BMLAMA facts as four-option questions for a model with a chat template and
as cloze sentences otherwise, unless the request names the format; Localization is scored for
each requested measure (``localization.MEASURES``). English is scored
once per model, unsteered, as the Transfer reference. A (setting, language) whose vectors are
missing is skipped with a warning. The summary covers exactly the items this request selects,
so re-running a command reproduces its outputs even in a directory shared with other runs.

Scoring happens in this process, or, with ``workers``/``ray_address``, on Ray actors
(``cluster``, imported only then); both score a unit's items with ``score_unit`` and record
the rows here, through the one ``ResultStore``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from surgsteer_cli.console import info, progress, warn
from surgsteer_cli.engine import Engine
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.evaluation import answer_language, localization, verdict
from surgsteer_cli.evaluation.ceiling import CeilingShare, ceiling_shares
from surgsteer_cli.evaluation.plane import save_planes
from surgsteer_cli.evaluation.quantizations import describe
from surgsteer_cli.evaluation.quantizations import save as save_quantizations
from surgsteer_cli.evaluation.results import Key, ResultStore
from surgsteer_cli.evaluation.scoring import Scorer
from surgsteer_cli.evaluation.selection import REFERENCE, EvalData, load_eval_data
from surgsteer_cli.evaluation.settings import Setting
from surgsteer_cli.evaluation.summary import BASELINE, Score, summarize, write_summary
from surgsteer_cli.evaluation.units import ModelWork, Recorder, Unit, score_unit, unit_key
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.models import model_metadata
from surgsteer_cli.paths import atomic_output
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
    threads: int | None = None  # None: the CPUs not busy when the model loads (1 on Ray)
    workers: int | None = None  # Ray actors; None: this process, or the cluster's CPUs
    ray_address: str | None = None  # an existing Ray cluster to score on


@dataclass
class Report:
    """What a run produced: the scores, its files and the time spent per item."""

    scores: list[Score]
    files: list[Path]
    seconds_per_item: dict[str, dict[str, float]] = field(default_factory=dict)
    driver_seconds_per_item: float | None = None  # on Ray: the driver's own time per row
    shares: list[CeilingShare] = field(default_factory=list)  # against the prompt ceiling


def run_eval(request: EvalRequest) -> Report:
    """Score what is missing, then write ``summary.csv``, ``summary.json``, the verdict and
    answer-language tables (``write_tables``) and ``plane.png``."""
    names = _model_names(request.models)
    on_ray = bool(request.workers or request.ray_address)
    if on_ray:
        cluster = _import_cluster()
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
    driver_seconds = None
    with ResultStore(request.out, run, fresh=request.fresh) as store:
        works = []
        for path, name in zip(request.models, names, strict=True):
            spec = ModelSpec.from_metadata(metadata[path])
            keys, work = _missing(path, name, spec, request, loaded[formats[path]], store)
            selected += keys
            if work.units:
                works.append(work)
        recorder = Recorder(store)
        if on_ray:
            driver_seconds = cluster.score_on_ray(
                works,
                recorder,
                workers=request.workers,
                threads=request.threads,
                address=request.ray_address,
            )
        else:
            for work in works:
                _score_here(work, request.threads, recorder)
        rows = [store.rows[key] for key in selected if key in store.rows]
    timing = recorder.means()
    scores = summarize(rows)
    shares = ceiling_shares(rows)
    files = [request.out / name for name in ("results.jsonl", "summary.csv", "summary.json")]
    extra = {"run": run, "seconds_per_item": timing, "ceiling": [asdict(s) for s in shares]}
    write_summary(scores, request.out, extra)
    files += write_tables(rows, request.out)
    if any(score.language != REFERENCE for score in scores):
        mcq = request.mcq_dir or set(formats.values()) == {"mcq"}
        measure = "multiple-choice accuracy" if mcq else "cloze accuracy"
        files += save_planes(
            scores, request.out, languages=request.languages, transfer_measure=measure
        )
        if len(request.models) > 1:  # one model at several quantizations, or several models
            pairs = zip(request.models, names, strict=True)
            described = [describe(path, name, request.out) for path, name in pairs]
            files += save_quantizations(
                request.out,
                scores,
                rows,
                described,
                languages=request.languages,
                transfer_measure=measure,
            )
    return Report(
        scores=scores,
        files=files,
        seconds_per_item=timing,
        driver_seconds_per_item=driver_seconds,
        shares=shares,
    )


def write_tables(rows: Sequence[dict[str, Any]], directory: Path) -> list[Path]:
    """``verdict.md`` (``verdict``) when the rows have surgical, ``answer-language.md``
    (``answer_language``) when they have Localization answers; the files written."""
    tables = []
    if any(row["setting"] == verdict.OURS for row in rows):
        tables.append(("verdict.md", verdict.markdown(verdict.item_cells(rows))))
    counts = answer_language.tally(rows)
    if counts.answers:
        tables.append(("answer-language.md", answer_language.markdown(counts)))
    for name, text in tables:
        with atomic_output(directory / name) as temporary:
            temporary.write_text(text, encoding="utf-8")
    return [directory / name for name, _ in tables]


def _transfer_format(request: EvalRequest, metadata: dict[str, str]) -> str:
    """The requested Transfer format, else mcq for a model with a chat template."""
    if request.transfer:
        return request.transfer
    return "mcq" if metadata.get("tokenizer.chat_template") else "cloze"


def _import_cluster() -> ModuleType:
    """The Ray part (``cluster``), or an error that says how to install Ray."""
    try:
        from surgsteer_cli.evaluation import cluster
    except ModuleNotFoundError as exc:
        if exc.name != "ray":
            raise
        raise SurgsteerError(
            "--workers and --ray-address need Ray: pip install 'surgsteer[cluster]'"
        ) from None
    return cluster


def _missing(
    path: Path,
    name: str,
    spec: ModelSpec,
    request: EvalRequest,
    data: EvalData,
    store: ResultStore,
) -> tuple[list[Key], ModelWork]:
    """The keys of all items selected for one model, and its items not yet in ``store``."""
    profiles = discover(spec, request.vector_dirs, strict=False)
    units = list(_plan(name, request.settings, data, profiles, request.localization))
    selected = [unit_key(name, unit, item) for unit in units for item in unit.items]
    missing = []
    for unit in units:
        items = [item for item in unit.items if unit_key(name, unit, item) not in store]
        if items:
            missing.append(replace(unit, items=items))
    return selected, ModelWork(path, name, missing)


def _score_here(work: ModelWork, threads: int | None, recorder: Recorder) -> None:
    """Score one model's missing items in this process, loading it once."""
    engine = Engine(work.path, n_threads=threads)
    with Scorer(engine) as scorer, progress() as bar:
        task = bar.add_task(work.name, total=work.todo)
        for unit in work.units:
            bar.update(task, description=f"{work.name} {unit.describe()}")
            for row, seconds in score_unit(engine, scorer, work.name, unit):
                recorder.add(row, seconds)
                bar.advance(task)


def _plan(
    name: str,
    settings: Sequence[Setting],
    data: EvalData,
    profiles: dict[str, Profile],
    measures: Sequence[str],
) -> Iterator[Unit]:
    """The units of one model, skipping settings that lack vectors (one warning per
    language)."""
    if REFERENCE in data.transfer:
        yield Unit(Setting(BASELINE), REFERENCE, "transfer", data.transfer[REFERENCE], None)
    for language in data.localization:
        profile = profiles.get(language)
        skipped = [setting for setting in settings if setting.missing(profile)]
        if skipped:
            roles = "/".join(sorted({role for s in skipped for role in s.missing(profile)}))
            names = ", ".join(setting.name for setting in skipped)
            warn(f"{name}: no {roles} vector for {language}; skipping {names} there")
        for setting in settings:
            if setting not in skipped:
                yield Unit(setting, language, "transfer", data.transfer[language], profile)
                for measure in measures:
                    pool = data.facts if measure == "facts" else data.localization
                    items = pool[language]
                    axis = localization.AXES[measure]
                    instruction = data.instructions[language]
                    yield Unit(setting, language, axis, items, profile, measure, instruction)


def _model_names(models: Sequence[Path]) -> list[str]:
    """File names without ``.gguf``; two models may not share one."""
    names = [Path(model).stem for model in models]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SurgsteerError(f"several --model files are named {', '.join(duplicates)}")
    return names
