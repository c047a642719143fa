"""What a model is scored on, one unit at a time: the items of one axis and language under one
setting. The runner scores units in its own process, ``cluster`` on Ray actors; both go through
``score_unit`` and record the rows through a ``Recorder``."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from surgsteer_cli.datasets.blend import Instruction
from surgsteer_cli.engine import Engine
from surgsteer_cli.evaluation import localization, transfer
from surgsteer_cli.evaluation.results import Key, ResultStore, row_key
from surgsteer_cli.evaluation.scoring import Scorer
from surgsteer_cli.evaluation.selection import item_key
from surgsteer_cli.evaluation.settings import Setting
from surgsteer_cli.profiles import Profile

TIMING_FIELDS = ("seconds", "decode_s")
"""Fields of a result row that time it: they differ between runs that score the same."""


@dataclass
class Unit:
    """Items of one axis and language to score under one setting."""

    setting: Setting
    language: str
    axis: str
    items: list[Any]
    profile: Profile | None
    measure: str = ""  # the Localization measure, for localization axes
    instruction: Instruction | None = None  # how to ask the language, for localization axes

    def describe(self) -> str:
        """What a progress bar says while this unit is scored."""
        return f"{self.setting.name} {self.language} {self.axis}"


@dataclass
class ModelWork:
    """One model's units, holding only the items that are not in the results yet."""

    path: Path
    name: str
    units: list[Unit]

    @property
    def todo(self) -> int:
        """How many items are left to score."""
        return sum(len(unit.items) for unit in self.units)


class Recorder:
    """Where scored rows go: the results file, and the seconds each item took."""

    def __init__(self, store: ResultStore) -> None:
        self.store = store
        self.seconds: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))

    def add(self, row: dict[str, Any], seconds: float) -> None:
        """Write ``row`` (flushed when this returns) and note its time."""
        self.store.add(row)
        self.seconds[row["model"]][row["axis"]].append(seconds)

    def means(self) -> dict[str, dict[str, float]]:
        """Mean seconds per item, per model and axis."""
        return {
            model: {axis: sum(times) / len(times) for axis, times in axes.items()}
            for model, axes in self.seconds.items()
        }


def score_unit(
    engine: Engine, scorer: Scorer, name: str, unit: Unit
) -> Iterator[tuple[dict[str, Any], float]]:
    """Score ``unit``'s items with model ``name`` under the unit's setting: each row with the
    seconds it took (also recorded in the row, with the decoded tokens and their decode time
    for a generated answer, so that a resumed run still knows its speed)."""
    engine.set_control(unit.setting.control(unit.profile, engine.spec))
    score = _scorer_for(unit, engine, scorer)
    for item in unit.items:
        start = time.perf_counter()
        engine.reset_perf()
        row = base_row(name, unit, item) | score(item)
        seconds = time.perf_counter() - start
        row["seconds"] = round(seconds, 4)
        if unit.measure:  # an answer was generated: llama.cpp's decode counters
            perf = engine.perf()
            row |= {"decoded_tokens": perf.decoded_tokens, "decode_s": round(perf.decode_s, 4)}
        yield row, seconds


def base_row(name: str, unit: Unit, item: Any) -> dict[str, Any]:
    """The fields of a result row that say what was scored (``results.KEY_FIELDS``, scales)."""
    return {
        "model": name,
        "setting": unit.setting.name,
        "language": unit.language,
        "axis": unit.axis,
        "item": item_key(item),
        "scales": unit.setting.scales(unit.profile),
    }


def unit_key(name: str, unit: Unit, item: Any) -> Key:
    """The results key of ``item`` in ``unit`` for model ``name``."""
    return row_key(base_row(name, unit, item))


def _scorer_for(unit: Unit, engine: Engine, scorer: Scorer) -> Callable[[Any], dict[str, Any]]:
    system = unit.setting.system(unit.language)
    if unit.measure:
        return partial(
            localization.answer_row,
            engine,
            measure=unit.measure,
            instruction=unit.instruction,
            system=system,
        )
    return partial(transfer.choice_row, scorer, system=system)
