"""Steering configurations and scale sweeps: which vectors go on which blocks, how strongly.

- ``none``: no steering;
- ``en-all``: the EN vector on every block it has a direction for;
- ``en-mid``: the EN vector on its default band (middle blocks);
- ``loc-deep``: the LOC vector on its default band (deep blocks);
- ``surgical``: EN on its band plus LOC on its band;
- ``prompt``: no vector; the country named in a system line ("The user is in South Korea."),
  the same for every item: the reference a LOC vector imitates, and its ceiling.

``localize`` changes how the configs with LOC bring in the culture (as ``ask --localize``):
``vector`` (the LOC vector, the default here), ``prompt`` (the system line instead of it) or
``both``; placements (``en_at``/``loc_at``) say which tokens each vector steers. A scale of
``None`` means each vector file's ``default_scale``, a band or placement of ``None`` the
file's. A sweep (several scales or bands) gives one setting per value, and ``surgical`` one per
combination.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from surgsteer_cli.engine import UNSTEERED, Control
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.model_spec import ModelSpec, parse_band
from surgsteer_cli.profiles import Profile
from surgsteer_cli.steering import control, location_line
from surgsteer_cli.vector_file import SteeringVector

CONFIGS = ("none", "en-all", "en-mid", "loc-deep", "surgical", "prompt")
CEILING = "prompt"
_ROLES = {
    "none": (),
    "en-all": ("en",),
    "en-mid": ("en",),
    "loc-deep": ("loc",),
    "surgical": ("en", "loc"),
    "prompt": (),
}
LOCALIZE = ("vector", "prompt", "both")


@dataclass(frozen=True)
class Setting:
    """One steering configuration at fixed scales (None: the vector file's default)."""

    config: str
    en_scale: float | None = None
    loc_scale: float | None = None
    en_layers: str | None = None  # "A-B": a band instead of the file's (not for en-all)
    loc_layers: str | None = None
    localize: str = "vector"  # for configs with LOC: the vector, the system line, or both
    en_at: str | None = None  # placements; None: the vector file's
    loc_at: str | None = None

    @property
    def roles(self) -> tuple[str, ...]:
        """The vector roles this setting needs."""
        roles = _ROLES[self.config]
        if self.localize == "prompt":
            return tuple(role for role in roles if role != "loc")
        return roles

    @property
    def names_country(self) -> bool:
        """Whether the model is told the country in a system line."""
        return self.config == CEILING or (
            self.localize != "vector" and "loc" in _ROLES[self.config]
        )

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
        explicit += [
            f"{role}-at={placement}"
            for role, placement in (("en", self.en_at), ("loc", self.loc_at))
            if role in self.roles and placement is not None
        ]
        name = self.config
        if self.localize != "vector" and "loc" in _ROLES[self.config]:
            name += f"[{self.localize}]"
        return f"{name}({','.join(explicit)})" if explicit else name

    def missing(self, profile: Profile | None) -> list[str]:
        """Roles this setting needs that ``profile`` lacks."""
        return [role for role in self.roles if profile is None or getattr(profile, role) is None]

    def control(self, profile: Profile | None, spec: ModelSpec) -> Control:
        """The control for ``profile``'s language (unsteered when the setting has no role)."""
        if not self.roles:
            return UNSTEERED
        placements = {"en": self.en_at, "loc": self.loc_at}
        return control(spec, self.parts(profile, spec), {r: p for r, p in placements.items() if p})

    def system(self, language: str) -> str | None:
        """The system line that names ``language``'s country, when the setting names it."""
        return location_line(language) if self.names_country else None

    def parts(
        self, profile: Profile | None, spec: ModelSpec
    ) -> list[tuple[SteeringVector, float, list[int]]]:
        """(vector, scale, blocks) for each role: what ``buffer`` sums."""
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
        return parts

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
    localizes: Sequence[str] = ("vector",),
    en_at: str | None = None,
    loc_at: str | None = None,
) -> list[Setting]:
    """Every setting of ``configs`` over the scale, band and localize sweeps, in the given
    order, no duplicates. A config may name its localize mode, as its setting is named
    (``surgical[prompt]``); the others take each of ``localizes``."""
    pairs = [_config_and_modes(config, localizes) for config in configs]
    unknown = [config for config, _ in pairs if config not in CONFIGS]
    if unknown:
        raise SurgsteerError(
            f"unknown config {', '.join(unknown)}; choose from {', '.join(CONFIGS)}"
        )
    unknown = [mode for _, modes in pairs for mode in modes if mode not in LOCALIZE]
    if unknown:
        raise SurgsteerError(
            f"unknown localize mode {', '.join(unknown)}; choose from {', '.join(LOCALIZE)}"
        )
    settings: dict[Setting, None] = {}
    for config, localize in ((c, mode) for c, modes in pairs for mode in modes):
        if "loc" not in _ROLES[config]:
            localize = "vector"
        if not Setting(config, localize=localize).roles and localize == "prompt":
            config, localize = CEILING, "vector"  # loc-deep[prompt] is the prompt reference
        roles = Setting(config, localize=localize).roles
        ens = en_scales if "en" in roles else (None,)
        locs = loc_scales if "loc" in roles else (None,)
        en_layers = en_bands if "en" in roles and config != "en-all" else (None,)
        loc_layers = loc_bands if "loc" in roles else (None,)
        placements = (en_at if "en" in roles else None, loc_at if "loc" in roles else None)
        for combination in itertools.product(ens, locs, en_layers, loc_layers):
            settings[Setting(config, *combination, localize, *placements)] = None
    return list(settings)


def _config_and_modes(config: str, localizes: Sequence[str]) -> tuple[str, Sequence[str]]:
    """``surgical[prompt]`` -> ("surgical", ["prompt"]); a bare config takes ``localizes``."""
    name, bracket, mode = config.partition("[")
    return (name, [mode.removesuffix("]")]) if bracket else (config, localizes)


def _layers(band: str | None, vector: SteeringVector, spec: ModelSpec) -> list[int]:
    """The blocks of ``band`` ("A-B"), else the vector's own band."""
    if band is None:
        return vector.band_layers
    start, end = parse_band(band, spec.n_layer)
    return list(range(start, end + 1))


def _scale(explicit: float | None, default: float) -> float:
    return default if explicit is None else explicit
