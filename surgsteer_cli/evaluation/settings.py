"""Steering configurations and scale sweeps: which vectors go on which blocks, how strongly.

- ``none``: no steering;
- ``en-all``: the EN vector on every block it has a direction for;
- ``en-mid``: the EN vector on its default band (middle blocks);
- ``loc-deep``: the LOC vector on its default band (deep blocks);
- ``surgical``: EN on its band plus LOC on its band.

A scale of ``None`` means each vector file's ``default_scale`` and a band of ``None`` the file's
band. A sweep (several scales or bands) gives one setting per value, and ``surgical`` one per
combination.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.model_spec import ModelSpec, parse_band
from surgsteer_cli.profiles import Profile, control_buffer
from surgsteer_cli.vector_file import SteeringVector

CONFIGS = ("none", "en-all", "en-mid", "loc-deep", "surgical")
_ROLES = {
    "none": (),
    "en-all": ("en",),
    "en-mid": ("en",),
    "loc-deep": ("loc",),
    "surgical": ("en", "loc"),
}


@dataclass(frozen=True)
class Setting:
    """One steering configuration at fixed scales (None: the vector file's default)."""

    config: str
    en_scale: float | None = None
    loc_scale: float | None = None
    en_layers: str | None = None  # "A-B": a band instead of the file's (not for en-all)
    loc_layers: str | None = None

    @property
    def roles(self) -> tuple[str, ...]:
        """The vector roles this setting needs."""
        return _ROLES[self.config]

    @property
    def name(self) -> str:
        """A short label: the config, with any explicit scales and bands, e.g.
        ``surgical(en=0.5,loc=1,en@6-10)``."""
        explicit = [
            f"{role}={scale:g}"
            for role, scale in (("en", self.en_scale), ("loc", self.loc_scale))
            if role in self.roles and scale is not None
        ]
        explicit += [
            f"{role}@{band}"
            for role, band in (("en", self.en_layers), ("loc", self.loc_layers))
            if role in self.roles and band is not None
        ]
        return f"{self.config}({','.join(explicit)})" if explicit else self.config

    def missing(self, profile: Profile | None) -> list[str]:
        """Roles this setting needs that ``profile`` lacks."""
        return [role for role in self.roles if profile is None or getattr(profile, role) is None]

    def buffer(self, profile: Profile | None, spec: ModelSpec) -> np.ndarray | None:
        """The control buffer for ``profile``'s language, or None for no steering."""
        if not self.roles:
            return None
        if self.missing(profile):
            raise SurgsteerError(f"{self.name} needs {', '.join(self.missing(profile))} vectors")
        assert profile is not None
        parts = []
        if "en" in self.roles:
            en = profile.en
            layers = en.layers if self.config == "en-all" else _layers(self.en_layers, en, spec)
            parts.append((en, _scale(self.en_scale, en.default_scale), layers))
        if "loc" in self.roles:
            loc = profile.loc
            layers = _layers(self.loc_layers, loc, spec)
            parts.append((loc, _scale(self.loc_scale, loc.default_scale), layers))
        return control_buffer(spec, parts)

    def scales(self, profile: Profile | None) -> dict[str, float]:
        """The scale applied per role for ``profile`` (defaults resolved)."""
        result = {}
        for role in self.roles:
            vector = getattr(profile, role)
            result[role] = _scale(getattr(self, f"{role}_scale"), vector.default_scale)
        return result


def expand(
    configs: Sequence[str],
    en_scales: Sequence[float | None] = (None,),
    loc_scales: Sequence[float | None] = (None,),
    en_bands: Sequence[str | None] = (None,),
    loc_bands: Sequence[str | None] = (None,),
) -> list[Setting]:
    """Every setting of ``configs`` over the scale and band sweeps, in the given order, no
    duplicates."""
    unknown = [config for config in configs if config not in CONFIGS]
    if unknown:
        raise SurgsteerError(
            f"unknown config {', '.join(unknown)}; choose from {', '.join(CONFIGS)}"
        )
    settings: dict[Setting, None] = {}
    for config in configs:
        roles = _ROLES[config]
        ens = en_scales if "en" in roles else (None,)
        locs = loc_scales if "loc" in roles else (None,)
        en_layers = en_bands if "en" in roles and config != "en-all" else (None,)
        loc_layers = loc_bands if "loc" in roles else (None,)
        for combination in itertools.product(ens, locs, en_layers, loc_layers):
            settings[Setting(config, *combination)] = None
    return list(settings)


def _layers(band: str | None, vector: SteeringVector, spec: ModelSpec) -> list[int]:
    """The blocks of ``band`` ("A-B"), else the vector's own band."""
    if band is None:
        return vector.band_layers
    start, end = parse_band(band, spec.n_layer)
    return list(range(start, end + 1))


def _scale(explicit: float | None, default: float) -> float:
    return default if explicit is None else explicit
