"""How much of the reachable gain a setting gets, with the ``prompt`` reference (the country
named in a system line, no vector) as the ceiling a LOC vector imitates.

Per model, Localization measure and language, on the items all three settings answered:

- ``gain``: setting − ``none``, a paired difference with its bootstrap 95 % interval;
- ``share``: (setting − none) / (prompt − none), the share of the ceiling's gain, with a
  bootstrap interval from the same resamples (undefined where the ceiling gains nothing);
- ``known``: the setting's accuracy on the items ``prompt`` answers right (known-facts
  Localization: what the model knows once told where the user is), with their count.

The ``all`` row pools the languages: gains and shares from the mean over languages (each
language's items resampled separately, as in ``summary``), known-facts accuracy over all the
known items together.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from surgsteer_cli.evaluation.localization import AXES
from surgsteer_cli.evaluation.summary import ALL, BASELINE, RESAMPLES
from surgsteer_cli.evaluation.verdict import Cells, item_cells
from surgsteer_cli.steering import CEILING


@dataclass(frozen=True)
class CeilingShare:
    """One setting against the ceiling for one model, measure and language (or ``all``)."""

    model: str
    setting: str
    language: str
    metric: str
    gain: float
    gain_low: float
    gain_high: float
    ceiling_gain: float
    share: float | None
    share_low: float | None
    share_high: float | None
    known: float | None
    known_n: int


def ceiling_shares(rows: Iterable[dict[str, Any]]) -> list[CeilingShare]:
    """Every setting but ``prompt`` against ``none`` and ``prompt``, where all three were
    scored (``none`` itself too: its known-facts accuracy is the baseline); empty when no
    ``prompt`` rows exist."""
    cells = item_cells(row for row in rows if row["axis"] in AXES.values())
    found = []
    groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    by_metric = sorted(cells, key=lambda key: (key[0], key[1], key[3], key[2]))
    for model, setting, language, metric in by_metric:
        if setting != CEILING and all(
            (model, other, language, metric) in cells for other in (BASELINE, CEILING)
        ):
            groups[model, setting, metric].append(language)
    for (model, setting, metric), languages in groups.items():
        triples = [_aligned(cells, model, setting, metric, language) for language in languages]
        for language, triple in zip(languages, triples, strict=True):
            found.append(_share(model, setting, language, metric, [triple]))
        if len(languages) > 1:
            found.append(_share(model, setting, ALL, metric, triples))
    return found


def _aligned(cells: Cells, model: str, setting: str, metric: str, language: str) -> np.ndarray:
    """[3, item] outcomes of setting, none and prompt on the items all three have."""
    columns = [cells[model, name, language, metric] for name in (setting, BASELINE, CEILING)]
    items = sorted(set.intersection(*(set(column) for column in columns)))
    return np.array([[column[item] for item in items] for column in columns])


def _share(
    model: str, setting: str, language: str, metric: str, triples: list[np.ndarray]
) -> CeilingShare:
    seed = hashlib.sha256(f"ceiling|{model}|{setting}|{language}|{metric}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(seed[:8], "little"))
    gains = np.zeros(RESAMPLES)
    ceilings = np.zeros(RESAMPLES)
    for triple in triples:
        picks = rng.integers(0, triple.shape[1], size=(RESAMPLES, triple.shape[1]))
        gains += (triple[0] - triple[1])[picks].mean(axis=1)
        ceilings += (triple[2] - triple[1])[picks].mean(axis=1)
    gains /= len(triples)
    ceilings /= len(triples)
    gain = float(np.mean([(t[0] - t[1]).mean() for t in triples]))
    ceiling = float(np.mean([(t[2] - t[1]).mean() for t in triples]))
    share = share_low = share_high = None
    if ceiling > 0:
        ratios = np.where(ceilings > 0, gains / np.where(ceilings > 0, ceilings, 1), np.nan)
        share = gain / ceiling
        share_low, share_high = (float(v) for v in np.nanpercentile(ratios, [2.5, 97.5]))
    known = np.concatenate([t[0][t[2] == 1] for t in triples])
    low, high = np.percentile(gains, [2.5, 97.5])
    return CeilingShare(
        model=model,
        setting=setting,
        language=language,
        metric=metric,
        gain=gain,
        gain_low=float(low),
        gain_high=float(high),
        ceiling_gain=ceiling,
        share=share,
        share_low=share_low,
        share_high=share_high,
        known=float(known.mean()) if known.size else None,
        known_n=int(known.size),
    )
