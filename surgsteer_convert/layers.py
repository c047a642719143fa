"""Per-block analysis of a model and the rule that picks the default EN and LOC bands.

Metrics per block N (block outputs, pooled as the measurement says). Both similarity metrics
first scale every dimension to unit variance over the states compared, because a handful of
"massive activation" dimensions otherwise carry most of the variance at some blocks (up to ~75%
in 5 of 640 dimensions on Gemma 3 270M) and decide every cosine.

- ``crosslingual``: mean cosine between the English and the L version of the same BMLAMA fact,
  after subtracting the block's mean over all facts and languages. High where languages
  converge on meaning.
- ``culture``: accuracy of a nearest-centroid region probe on country-FREE BLEnD questions.
  Because every region here has its own language, a probe trained on those questions would only
  read the script (it scores 0.7-1.0 at every block); instead the centroids are learned from the
  ENGLISH questions that NAME each country (each minus the mean over countries of the same
  question), and a local country-free question (minus the mean over languages of that question)
  is assigned the nearest centroid by cosine. 5-fold cross-validated over questions; chance is
  1/#languages. High where the language of a question already carries its culture.
- ``en_norm``, ``loc_norm``: ||direction|| / typical state norm (mean over languages).
- ``cos_en_loc``: cosine between the EN and the raw LOC direction (mean over languages); and
  ``cos_en_loc_bands``: the same between the EN band's mean direction and the LOC band's.

- ``en_top3``: share of the EN direction's squared norm in its 3 largest coordinates (mean over
  languages); near 1 where "massive activation" coordinates dominate it.

Band rule: every local peak of cross-lingual similarity (searched in blocks 1..n-2) within
``PEAK_TOLERANCE`` of the highest, as a fraction of the metric's range, is a candidate; its
band is the contiguous run of blocks around it within ``TOLERANCE`` of its value. The EN band
is the highest candidate whose centre lies in the middle half of the depth (the study finds
transfer in the middle and culture after it), else the highest; the LOC band applies the
band rule to ``culture`` over the blocks after the EN band. All candidates are reported, so
the tune split can decide between them (``surgsteer eval --en-layers``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from rich.table import Table

from surgsteer_cli.errors import DataError, SurgsteerError
from surgsteer_cli.inspection import top_share
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.paths import atomic_output
from surgsteer_convert.contrasts import filled
from surgsteer_convert.directions import Measurement

TOLERANCE = 0.25
PEAK_TOLERANCE = 0.5
FOLDS = 5
RULE = (
    f"EN band candidates: contiguous blocks around each local peak of cross-lingual similarity "
    f"(searched in 1..n-2, peaks within {PEAK_TOLERANCE:.0%} of the range from the highest) "
    f"within {TOLERANCE:.0%} of the metric's range from that peak; EN band: the highest "
    "candidate centred in the middle half of the depth, else the highest; LOC band: the same "
    "band rule on culture-probe accuracy over the blocks after the EN band (metrics on "
    "per-dimension standardized states)"
)


@dataclass
class LayerReport:
    """Per-block metrics (index = block, 0..n_layer-1) and the bands chosen from them."""

    model_id: str
    fingerprint: str
    n_layer: int
    languages: list[str]
    method: str
    crosslingual: list[float]
    culture: list[float]
    chance: float
    en_norm: list[float]
    loc_norm: list[float]
    cos_en_loc: list[float]
    cos_en_loc_bands: float
    en_band: tuple[int, int]
    loc_band: tuple[int, int]
    en_top3: list[float] = field(default_factory=list)
    en_candidates: list[tuple[int, int]] = field(default_factory=list)
    rule: str = RULE

    def save(self, path: Path) -> None:
        """Write the report as JSON (replacing, never writing through, a link at ``path``)."""
        with atomic_output(path) as partial:
            partial.write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")


def analyze(measurement: Measurement, spec: ModelSpec, model_id: str) -> LayerReport:
    """Compute the per-block metrics of ``measurement`` and choose the bands."""
    languages = measurement.data.languages
    if len(languages) < 2:
        raise DataError("the layer analysis needs at least two languages (the probe compares them)")
    crosslingual = crosslingual_similarity(measurement)
    culture = culture_probe_accuracy(measurement)
    candidates = en_candidates(crosslingual)
    en_band, loc_band = choose_bands(crosslingual, culture)
    en = [measurement.en[lang] for lang in languages]
    loc = [measurement.loc[lang] for lang in languages]
    cosines = [_cosines(e.vectors, c.vectors) for e, c in zip(en, loc, strict=True)]
    across = [
        _cosines(_band_direction(e.vectors, en_band), _band_direction(c.vectors, loc_band))
        for e, c in zip(en, loc, strict=True)
    ]
    return LayerReport(
        model_id=model_id,
        fingerprint=spec.fingerprint,
        n_layer=spec.n_layer,
        languages=languages,
        method=(
            f"{measurement.pool}-pooled block outputs, {measurement.aggregate} aggregation, "
            f"LOC method {measurement.loc_method}"
        ),
        crosslingual=_floats(crosslingual),
        culture=_floats(culture),
        chance=1 / len(languages),
        en_norm=_floats(np.mean([d.relative_norm for d in en], axis=0)),
        loc_norm=_floats(np.mean([d.relative_norm for d in loc], axis=0)),
        cos_en_loc=_floats(np.mean(cosines, axis=0)),
        cos_en_loc_bands=round(float(np.mean(across)), 6),
        en_band=en_band,
        loc_band=loc_band,
        en_top3=_floats(np.mean([[top_share(row) for row in d.vectors] for d in en], axis=0)),
        en_candidates=candidates,
    )


def crosslingual_similarity(measurement: Measurement) -> np.ndarray:
    """Per block: mean standardized cosine of English vs L states of the same fact."""
    cloze = measurement.data.cloze
    states = {
        lang: measurement.states.take([filled(item) for item in items], measurement.pool)
        for lang, items in cloze.items()
    }
    every = np.concatenate(list(states.values()))
    center, spread = every.mean(axis=0), _spread(every)
    english = (states["en"] - center) / spread
    return np.mean(
        [
            _cosines(english, (states[lang] - center) / spread).mean(axis=0)
            for lang in measurement.data.languages
        ],
        axis=0,
    )


def culture_probe_accuracy(measurement: Measurement) -> np.ndarray:
    """Per block: accuracy of the country-named -> country-free region probe (module doc)."""
    blend = measurement.data.blend
    languages = measurement.data.languages
    keep = [
        q
        for q in range(len(blend[languages[0]]))
        if all(blend[lang][q].neutralized for lang in languages)
    ]
    if len(keep) < FOLDS:
        raise DataError(f"only {len(keep)} BLEnD questions are country-free in every language")

    def take(field: str) -> np.ndarray:  # [language, question, block, n_embd]
        return np.stack(
            [
                measurement.states.take(
                    [getattr(blend[lang][q], field) for q in keep], measurement.pool
                )
                for lang in languages
            ]
        )

    named = take("question_en")
    free = take("neutral")
    named -= named.mean(axis=0, keepdims=True)
    free -= free.mean(axis=0, keepdims=True)
    spread = _spread(np.concatenate([named, free], axis=1).reshape(-1, *named.shape[2:]))
    named /= spread
    free /= spread
    free /= np.linalg.norm(free, axis=-1, keepdims=True)
    correct = np.zeros(named.shape[2])
    for fold in range(FOLDS):
        test = np.arange(len(keep)) % FOLDS == fold
        centroids = named[:, ~test].mean(axis=1)  # [language, block, n_embd]
        centroids /= np.linalg.norm(centroids, axis=-1, keepdims=True)
        scores = np.einsum("tqbd,cbd->tqbc", free[:, test], centroids)
        predicted = scores.argmax(axis=-1)  # [true language, question, block]
        truth = np.arange(len(languages))[:, None, None]
        correct += (predicted == truth).sum(axis=(0, 1))
    return correct / (len(languages) * len(keep))


def choose_bands(
    crosslingual: np.ndarray, culture: np.ndarray
) -> tuple[tuple[int, int], tuple[int, int]]:
    """The EN and LOC bands by the module's rule (blocks are 0-based; block 0 is never used)."""
    n_layer = len(crosslingual)
    if n_layer < 3:
        raise SurgsteerError(
            f"a {n_layer}-block model is too shallow for separate EN and LOC bands"
        )
    candidates = en_candidates(crosslingual)
    middle = [b for b in candidates if n_layer / 4 <= (b[0] + b[1]) / 2 <= 3 * n_layer / 4]
    en_band = (middle or candidates)[0]
    loc_band = band_around_peak(culture, en_band[1] + 1, n_layer - 1)
    return en_band, loc_band


def en_candidates(crosslingual: np.ndarray) -> list[tuple[int, int]]:
    """Candidate EN bands, highest peak first (module doc)."""
    first, last = 1, len(crosslingual) - 2
    window = crosslingual[first : last + 1]
    spread = window.max() - window.min()
    peaks = [
        block
        for block in range(first, last + 1)
        if crosslingual[block] >= window.max() - PEAK_TOLERANCE * spread
        and (block == first or crosslingual[block] >= crosslingual[block - 1])
        and (block == last or crosslingual[block] >= crosslingual[block + 1])
    ]
    bands: list[tuple[int, int]] = []
    for peak in sorted(peaks, key=lambda block: -crosslingual[block]):
        band = band_around_peak(crosslingual, first, last, peak=peak)
        if not any(band[0] <= end and start <= band[1] for start, end in bands):
            bands.append(band)  # a band overlapping a higher peak's is the same candidate
    return bands


def band_around_peak(
    values: np.ndarray, first: int, last: int, *, peak: int | None = None
) -> tuple[int, int]:
    """Contiguous blocks around ``peak`` (default: the maximum of ``values[first..last]``)
    within TOLERANCE of the window's range from its value."""
    window = values[first : last + 1]
    peak = first + int(np.argmax(window)) if peak is None else peak
    threshold = values[peak] - TOLERANCE * (window.max() - window.min())
    start, end = peak, peak
    while start > first and values[start - 1] >= threshold:
        start -= 1
    while end < last and values[end + 1] >= threshold:
        end += 1
    return start, end


def load_bands(path: Path, spec: ModelSpec) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The bands saved in a report at ``path`` for this model, or None if there is none."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        if report["fingerprint"] != spec.fingerprint or report["n_layer"] != spec.n_layer:
            return None
        return tuple(report["en_band"]), tuple(report["loc_band"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def table(report: LayerReport) -> Table:
    """The report as a Rich table, one row per steerable block."""
    grid = Table(title=f"Layers of {report.model_id} ({', '.join(report.languages)})")
    for header in (
        "block",
        "depth",
        "x-lingual cos",
        "culture acc",
        "|EN|/norm",
        "|LOC|/norm",
        "cos(EN,LOC)",
        "EN top-3",
        "band",
    ):
        grid.add_column(header, justify="right")
    for block in range(1, report.n_layer):
        band = (
            "EN"
            if _inside(block, report.en_band)
            else "LOC"
            if _inside(block, report.loc_band)
            else ""
        )
        grid.add_row(
            str(block),
            f"{block / report.n_layer:.0%}",
            f"{report.crosslingual[block]:.3f}",
            f"{report.culture[block]:.3f}",
            f"{report.en_norm[block]:.3f}",
            f"{report.loc_norm[block]:.3f}",
            f"{report.cos_en_loc[block]:+.3f}",
            f"{report.en_top3[block]:.0%}" if report.en_top3 else "-",
            band,
        )
    candidates = ", ".join(f"{start}-{end}" for start, end in report.en_candidates)
    grid.caption = (
        f"culture chance {report.chance:.3f}; cos(EN band, LOC band) "
        f"{report.cos_en_loc_bands:+.3f}; EN band candidates (peaks): {candidates or '-'}. "
        f"{report.rule}"
    )
    return grid


def plot(report: LayerReport, path: Path) -> None:
    """Write the four per-block curves, with both bands shaded, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    blocks = np.arange(1, report.n_layer)
    panels = [
        ("Cross-lingual cosine (parallel facts)", {"x-lingual": report.crosslingual}),
        ("Culture probe accuracy (country-free)", {"probe": report.culture}),
        ("Direction norm / typical state norm", {"EN": report.en_norm, "LOC": report.loc_norm}),
        ("cos(EN, LOC)", {"cos": report.cos_en_loc}),
    ]
    figure, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    for axis, (title, curves) in zip(axes.flat, panels, strict=True):
        for label, values in curves.items():
            axis.plot(blocks, np.asarray(values)[1:], marker="o", markersize=3, label=label)
        for (start, end), color, name in (
            (report.en_band, "tab:blue", "EN band"),
            (report.loc_band, "tab:orange", "LOC band"),
        ):
            axis.axvspan(start - 0.5, end + 0.5, color=color, alpha=0.15, label=name)
        axis.set_title(title, fontsize=10)
        axis.grid(alpha=0.3)
    axes[0, 1].axhline(report.chance, color="gray", linestyle="--", label="chance")
    axes[1, 0].legend(fontsize=8)
    axes[0, 1].legend(fontsize=8)
    for axis in axes[1]:
        axis.set_xlabel("block (0-based; output of block N)")
    figure.suptitle(f"{report.model_id}: {', '.join(report.languages)}")
    figure.tight_layout()
    with atomic_output(path) as partial:  # replaces a link at ``path``, never writes through
        figure.savefig(partial, format="png", dpi=120)
    plt.close(figure)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine along the last axis (in float64)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    return (a * b).sum(axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def _spread(states: np.ndarray) -> np.ndarray:
    """Per-(block, dimension) standard deviation over the first axis, never zero."""
    return states.std(axis=0) + 1e-6


def _band_direction(vectors: np.ndarray, band: tuple[int, int]) -> np.ndarray:
    """Mean of the unit directions inside ``band``."""
    inside = vectors[band[0] : band[1] + 1].astype(np.float64)
    return (inside / np.linalg.norm(inside, axis=1, keepdims=True)).mean(axis=0)


def _inside(block: int, band: tuple[int, int]) -> bool:
    return band[0] <= block <= band[1]


def _floats(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]
