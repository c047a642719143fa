"""How steering vectors become what llama.cpp applies: one control buffer per part of the
conversation (``engine.Control``), from each role's vector, scale, blocks and placement.

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
from collections.abc import Iterable, Mapping

import numpy as np

from surgsteer_cli.datasets.blend import LANGUAGE_REGION
from surgsteer_cli.engine import Control
from surgsteer_cli.errors import SurgsteerError, VectorFileError
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.vector_file import PLACEMENTS, SteeringVector

PARTS = ("question", "prefix", "answer")
COVERS = {"all": PARTS, "prompt": ("question", "prefix"), "question": ("question",)}
"""The parts each placement steers."""
assert tuple(COVERS) == PLACEMENTS

Part = tuple[SteeringVector, float, Iterable[int]]
"""One role's vector, its scale and the blocks it is added after."""


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
