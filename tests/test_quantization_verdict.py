"""The quantization verdict's reading of one paired difference."""

import pytest

from benchmarks.quantization_verdict import reading


def test_an_interval_above_or_below_zero_is_read_as_such() -> None:
    assert reading({"mean": 0.1, "low": 0.02, "high": 0.18, "n": 150}, 5).endswith("above 0")
    assert reading({"mean": -0.1, "low": -0.18, "high": -0.02, "n": 150}, 5).endswith("below 0")


def test_cannot_tell_gives_the_items_that_would_resolve_it() -> None:
    # half-width 0.06 against a mean of 0.03: four times the 30 items per language
    text = reading({"mean": 0.03, "low": -0.03, "high": 0.09, "n": 150}, 5)
    assert text.endswith("cannot tell (~120 items/language)")


@pytest.mark.parametrize("mean", [0.0, -1.3877787807814457e-17])
def test_a_mean_of_zero_up_to_float_noise_is_no_difference(mean: float) -> None:
    text = reading({"mean": mean, "low": -0.07, "high": 0.05, "n": 150}, 5)
    assert text.endswith("cannot tell (no difference seen)")
