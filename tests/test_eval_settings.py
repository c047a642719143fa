"""Steering configurations: names, sweeps, and which blocks each one steers."""

from __future__ import annotations

import numpy as np
import pytest

from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.evaluation.settings import Setting, expand
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.profiles import Profile
from surgsteer_cli.steering import CONFIGS
from surgsteer_cli.vector_file import SteeringVector

SPEC = ModelSpec("gemma3", n_layer=8, n_embd=4, fingerprint="f" * 16)


def vector(role: str, band: tuple[int, int], scale: float) -> SteeringVector:
    directions = {layer: np.full(4, float(layer), dtype=np.float32) for layer in range(1, 8)}
    return SteeringVector(role, "ko", SPEC, directions, default_scale=scale, band=band)


PROFILE = Profile("ko", en=vector("en", (2, 4), 1.0), loc=vector("loc", (5, 7), 2.0))


def steered_blocks(buffer: np.ndarray) -> list[int]:
    """Blocks with a non-zero row (row r steers block r + 1)."""
    return [row + 1 for row in np.flatnonzero(np.abs(buffer).sum(axis=1))]


def test_default_expansion_is_one_setting_per_config() -> None:
    assert [s.name for s in expand(CONFIGS)] == list(CONFIGS)


def test_sweeps_apply_to_the_roles_a_config_uses() -> None:
    settings = expand(["none", "en-mid", "loc-deep", "surgical"], [0.5, 1], [2])
    assert [s.name for s in settings] == [
        "none", "en-mid(en=0.5)", "en-mid(en=1)", "loc-deep(loc=2)",
        "surgical(en=0.5,loc=2)", "surgical(en=1,loc=2)",
    ]  # fmt: skip


def test_unknown_config_is_named_in_the_error() -> None:
    with pytest.raises(SurgsteerError, match="unknown config en-deep; choose from none"):
        expand(["none", "en-deep"])


@pytest.mark.parametrize(
    ("config", "blocks"),
    [
        ("none", []),
        ("en-all", [1, 2, 3, 4, 5, 6, 7]),
        ("en-mid", [2, 3, 4]),
        ("loc-deep", [5, 6, 7]),
        ("surgical", [2, 3, 4, 5, 6, 7]),
    ],
)
def test_each_config_steers_its_blocks(config: str, blocks: list[int]) -> None:
    control = Setting(config).control(PROFILE, SPEC)
    assert control.uniform  # files without a placement tag steer every token
    buffer = control.answer
    assert (buffer is None) == (config == "none")
    if buffer is not None:
        assert steered_blocks(buffer) == blocks


def test_scales_default_to_the_files_and_can_be_overridden() -> None:
    default = Setting("surgical").control(PROFILE, SPEC).answer
    # Row r holds scale * direction[r + 1] = scale * (r + 1).
    assert default[2, 0] == 1.0 * 3 and default[5, 0] == 2.0 * 6
    assert Setting("surgical").scales(PROFILE) == {"en": 1.0, "loc": 2.0}
    swept = Setting("surgical", en_scale=0.5, loc_scale=0.0).control(PROFILE, SPEC).answer
    assert swept[2, 0] == 0.5 * 3 and steered_blocks(swept) == [2, 3, 4]


def test_missing_roles_are_reported() -> None:
    en_only = Profile("ko", en=PROFILE.en)
    assert Setting("surgical").missing(en_only) == ["loc"]
    assert Setting("en-mid").missing(en_only) == []
    assert Setting("en-mid").missing(None) == ["en"]
    with pytest.raises(SurgsteerError, match="needs loc vectors"):
        Setting("loc-deep").control(en_only, SPEC)


def test_prompt_names_the_country_and_steers_nothing() -> None:
    ceiling = Setting("prompt")
    assert ceiling.roles == () and ceiling.missing(None) == []
    assert ceiling.control(None, SPEC).answer is None
    assert ceiling.system("ko") == "The user is in South Korea."
    assert Setting("surgical").system("ko") is None


def test_localize_replaces_or_joins_the_loc_vector() -> None:
    settings = expand(["none", "surgical", "loc-deep"], localizes=["vector", "prompt", "both"])
    assert [s.name for s in settings] == [
        "none", "surgical", "surgical[prompt]", "surgical[both]",
        "loc-deep", "prompt", "loc-deep[both]",
    ]  # fmt: skip  # loc-deep[prompt] steers nothing and names the country: it is prompt
    named = expand(["none", "surgical[both]", "loc-deep"], localizes=["prompt"])
    assert [s.name for s in named] == ["none", "surgical[both]", "prompt"]
    by_name = {s.name: s for s in settings}
    assert by_name["surgical[prompt]"].roles == ("en",)
    assert by_name["surgical[prompt]"].system("es") == "The user is in Spain."
    assert by_name["surgical[both]"].roles == ("en", "loc")
    assert steered_blocks(by_name["surgical[prompt]"].control(PROFILE, SPEC).answer) == [2, 3, 4]


def test_a_loc_placement_keeps_the_loc_vector_off_the_answer() -> None:
    (setting,) = expand(["surgical"], loc_at="prompt")
    assert setting.name == "surgical(loc-at=prompt)"
    control = setting.control(PROFILE, SPEC)
    assert steered_blocks(control.question) == [2, 3, 4, 5, 6, 7]
    assert steered_blocks(control.answer) == [2, 3, 4]
