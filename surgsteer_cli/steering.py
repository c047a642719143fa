"""How a profile becomes what llama.cpp applies: a **config** picks the roles and their blocks,
each role gets a scale, and the parts become one control buffer per part of the conversation
(``engine.Control``), each role where its placement says.

Configs (``CONFIGS``):

- ``none``: no steering;
- ``en-all``: the EN vector on every block it has a direction for;
- ``en-mid``: the EN vector on its band (middle blocks);
- ``loc-deep``: the LOC vector on its band (deep blocks);
- ``surgical``: EN on its band plus LOC on its band (what ``ask --localize vector`` applies);
- ``prompt``: no vector; the country named in a system line (the ceiling a LOC vector imitates).

A scale of ``None`` means the vector file's ``default_scale``, a band of ``None`` the file's.

The culture can also reach the model as text: ``location_line`` names the language's country
in a system line (``--localize prompt``).

A **placement** says which parts a role steers (a vector file's ``placement`` tag gives its
default, ``--en-at``/``--loc-at`` override it):

- ``all``: every token, prompt and answer alike (what stock llama.cpp does);
- ``prompt``: the question and the assistant prefix; the answer is decoded unsteered, reading a
  KV cache that was computed steered;
- ``question``: the system and user turns only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from surgsteer_cli.datasets.blend import LANGUAGE_REGION
from surgsteer_cli.engine import Control
from surgsteer_cli.errors import SurgsteerError, VectorFileError
from surgsteer_cli.model_spec import ModelSpec, parse_band
from surgsteer_cli.profiles import Profile
from surgsteer_cli.vector_file import PLACEMENTS, SteeringVector

CONFIGS = ("none", "en-all", "en-mid", "loc-deep", "surgical", "prompt")
CEILING = "prompt"
CONFIG_ROLES: dict[str, tuple[str, ...]] = {
    "none": (),
    "en-all": ("en",),
    "en-mid": ("en",),
    "loc-deep": ("loc",),
    "surgical": ("en", "loc"),
    "prompt": (),
}
"""The vector roles each config adds (module doc)."""
VECTOR_CONFIGS = tuple(config for config in CONFIGS if CONFIG_ROLES[config])
"""The configs that add a vector."""

MAX_SCALE = 10.0
"""Largest |scale| accepted. A scale is a fraction of a block's typical activation norm
(the shipped defaults are below 0.06, and 0.1 at the deep band already repeats one word), so
ten times a whole activation only ever destroys the answer; NaN and infinities never steer."""

PARTS = ("question", "prefix", "answer")
COVERS = {"all": PARTS, "prompt": ("question", "prefix"), "question": ("question",)}
"""The parts each placement steers."""
assert tuple(COVERS) == PLACEMENTS

Part = tuple[SteeringVector, float, Iterable[int]]
"""One role's vector, its scale and the blocks it is added after."""


def check_scale(scale: float) -> float:
    """``scale`` if it is finite and within +-MAX_SCALE, else a SurgsteerError: for scales
    people type (a file's ``default_scale`` is checked by ``vector_file.validate``)."""
    if not math.isfinite(scale) or abs(scale) > MAX_SCALE:
        raise SurgsteerError(
            f"scale {scale:g} is not a number from -{MAX_SCALE:g} to {MAX_SCALE:g}"
        )
    return scale


def scale_of(vector: SteeringVector, scale: float | None) -> float:
    """``scale``, or the vector file's ``default_scale`` when it is None."""
    return vector.default_scale if scale is None else scale


def missing(profile: Profile | None, roles: Iterable[str]) -> list[str]:
    """The roles of ``roles`` that ``profile`` has no vector for."""
    return [role for role in roles if profile is None or getattr(profile, role) is None]


def parts(
    profile: Profile,
    spec: ModelSpec,
    config: str = "surgical",
    *,
    roles: Sequence[str] | None = None,
    en_scale: float | None = None,
    loc_scale: float | None = None,
    en_band: str | None = None,
    loc_band: str | None = None,
) -> list[Part]:
    """(vector, scale, blocks) for each role of ``config`` (``roles``: only these) that
    ``profile`` has. Blocks: the band ``"A-B"`` given, else the file's band (``en-all``: every
    block the EN vector has)."""
    scales = {"en": en_scale, "loc": loc_scale}
    bands = {"en": en_band, "loc": loc_band}
    found: list[Part] = []
    for role in CONFIG_ROLES[config] if roles is None else roles:
        vector = getattr(profile, role)
        if vector is None:
            continue
        if config == "en-all":
            layers = vector.layers
        elif bands[role] is None:
            layers = vector.band_layers
        else:
            start, end = parse_band(bands[role], spec.n_layer)
            layers = list(range(start, end + 1))
        found.append((vector, scale_of(vector, scales[role]), layers))
    return found


def profile_buffer(
    profile: Profile,
    spec: ModelSpec,
    *,
    en_scale: float | None = None,
    loc_scale: float | None = None,
) -> np.ndarray:
    """Both roles of ``profile`` at their bands in one buffer (every token steered alike)."""
    return control_buffer(spec, parts(profile, spec, en_scale=en_scale, loc_scale=loc_scale))


def check_placement(placement: str) -> str:
    """``placement`` if it is one of PLACEMENTS, else a SurgsteerError listing them."""
    if placement not in COVERS:
        raise SurgsteerError(
            f"unknown placement {placement[:40]!r}; choose from {', '.join(PLACEMENTS)}"
        )
    return placement


def control(
    spec: ModelSpec, parts: Iterable[Part], placements: Mapping[str, str] | None = None
) -> Control:
    """The buffers for question, prefix and answer: each part gets the roles whose placement
    (``placements[role]``, else the vector's own) covers it. Parts steered by the same roles
    share one buffer object, so a control with every role at ``all`` is uniform."""
    parts = [(vector, scale, list(layers)) for vector, scale, layers in parts]
    placements = placements or {}
    buffers: dict[tuple[str, ...], np.ndarray | None] = {}
    chosen = []
    for name in PARTS:
        roles = tuple(
            vector.role
            for vector, _, _ in parts
            if name in COVERS[check_placement(placements.get(vector.role) or vector.placement)]
        )
        if roles not in buffers:
            steering = [part for part in parts if part[0].role in roles]
            buffers[roles] = control_buffer(spec, steering) if steering else None
        chosen.append(buffers[roles])
    return Control(*chosen)


def control_buffer(spec: ModelSpec, parts: Iterable[Part]) -> np.ndarray:
    """Sum ``scale * direction[N]`` over the given layers into llama.cpp's layout:
    shape (n_layer, n_embd), row r holds the vector added after block r + 1."""
    buffer = np.zeros((spec.n_layer, spec.n_embd), dtype=np.float32)
    for vector, scale, layers in parts:
        if not math.isfinite(scale):
            raise SurgsteerError(f"{vector.role} scale {scale} is not a finite number")
        vector.check_compatible(spec)
        for layer in layers:
            if layer not in vector.directions:
                raise VectorFileError(
                    f"{vector.role}/{vector.language} vector has no direction for block {layer}"
                )
            buffer[layer - 1] += np.float32(scale) * vector.directions[layer]
    return buffer


def location_line(language: str) -> str | None:
    """The system line that names ``language``'s country (its BLEnD region), if it has one."""
    region = LANGUAGE_REGION.get(language)
    return f"The user is in {region.replace('_', ' ')}." if region else None
