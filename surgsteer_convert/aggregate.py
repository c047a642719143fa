"""Aggregators: paired states [pair, n_embd] of positives and negatives -> one direction.

An aggregator returns a vector pointing from the negatives toward the positives whose length is
the mean shift along it (so directions from different aggregators are comparable before
normalization). Add one by writing a function with this signature and registering it below.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Aggregator = Callable[[np.ndarray, np.ndarray], np.ndarray]


def mean_difference(positives: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """Mean of the positives minus mean of the negatives."""
    return positives.mean(axis=0) - negatives.mean(axis=0)


def pca_difference(positives: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """First principal axis of the paired differences (uncentered), signed and sized like them.

    The sign is fixed as in repeng: flipped when the positives project lower than the negatives.
    """
    differences = (positives - negatives).astype(np.float64)
    axis = np.linalg.svd(differences, full_matrices=False)[2][0]
    shift = float((differences @ axis).mean())
    if shift < 0:
        axis, shift = -axis, -shift
    return (axis * shift).astype(np.float32)


AGGREGATORS: dict[str, Aggregator] = {"mean": mean_difference, "pca": pca_difference}
