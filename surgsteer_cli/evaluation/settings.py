"""Eval's settings: a steering config (``steering.CONFIGS``) at fixed scales, bands, placements
and localize mode, and the sweeps that expand into them.

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

from surgsteer_cli import steering
from surgsteer_cli.engine import UNSTEERED, Control
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.profiles import Profile
from surgsteer_cli.steering import CEILING, CONFIG_ROLES, CONFIGS, Part

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
        roles = CONFIG_ROLES[self.config]
        if self.localize == "prompt":
            return tuple(role for role in roles if role != "loc")
        return roles

    @property
    def names_country(self) -> bool:
        """Whether the model is told the country in a system line."""
        return self.config == CEILING or (
            self.localize != "vector" and "loc" in CONFIG_ROLES[self.config]
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
        if self.localize != "vector" and "loc" in CONFIG_ROLES[self.config]:
            name += f"[{self.localize}]"
        return f"{name}({','.join(explicit)})" if explicit else name

    def missing(self, profile: Profile | None) -> list[str]:
        """Roles this setting needs that ``profile`` lacks."""
        return steering.missing(profile, self.roles)

    def control(self, profile: Profile | None, spec: ModelSpec) -> Control:
        """The control for ``profile``'s language (unsteered when the setting has no role)."""
        if not self.roles:
            return UNSTEERED
        placements = {"en": self.en_at, "loc": self.loc_at}
        return steering.control(
            spec, self.parts(profile, spec), {r: p for r, p in placements.items() if p}
        )

    def system(self, language: str) -> str | None:
        """The system line that names ``language``'s country, when the setting names it."""
        return steering.location_line(language) if self.names_country else None

    def parts(self, profile: Profile | None, spec: ModelSpec) -> list[Part]:
        """(vector, scale, blocks) for each role (``steering.parts``); every role must be there."""
        if self.missing(profile):
            raise SurgsteerError(f"{self.name} needs {', '.join(self.missing(profile))} vectors")
        assert profile is not None
        return steering.parts(
            profile,
            spec,
            self.config,
            roles=self.roles,
            en_scale=self.en_scale,
            loc_scale=self.loc_scale,
            en_band=self.en_layers,
            loc_band=self.loc_layers,
        )

    def scales(self, profile: Profile | None) -> dict[str, float]:
        """The scale applied per role for ``profile`` (defaults resolved)."""
        explicit = {"en": self.en_scale, "loc": self.loc_scale}
        return {
            role: steering.scale_of(getattr(profile, role), explicit[role]) for role in self.roles
        }


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
        if "loc" not in CONFIG_ROLES[config]:
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
