"""Attention sinks and the EN direction: what leaving sink tokens out of pooling changes.

On a model with "massive activations" (Qwen2: a few coordinates thousands of times larger than
the rest, on the first token), mean pooling over every content token lets those tokens decide
both the direction (its top-3 coordinates hold most of its squared norm) and the typical
state norm (the unit of every scale). This script measures, per block, on parallel English /
L BMLAMA facts of the extraction split: the share of the EN direction's squared norm in its 3
largest coordinates and the typical norm, with sinks pooled (``SINK_FACTOR = inf``, what
surgsteer did before) and left out (the default), and how many tokens were sinks.

    python -m benchmarks.sinks [--model NAME|PATH] [--lang ko] [--items 40]
"""

from __future__ import annotations

import argparse

import numpy as np

from surgsteer_cli.inspection import top_share
from surgsteer_convert import activations
from surgsteer_convert.contrasts import en_contrast, load_extraction_data
from surgsteer_convert.loading import load_model


def measure(loaded, contrast, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Top-3 share of the mean-difference direction and typical norm, per block."""
    activations.SINK_FACTOR = factor
    states = activations.collect(loaded, [*contrast.positives, *contrast.negatives])
    direction = states.take(contrast.positives, "mean").mean(0) - states.take(
        contrast.negatives, "mean"
    ).mean(0)
    typical = states.norms([*contrast.positives, *contrast.negatives]).mean(0)
    return np.array([top_share(row) for row in direction]), typical


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--lang", default="ko")
    parser.add_argument("--items", type=int, default=40)
    args = parser.parse_args()
    loaded = load_model(args.model)
    contrast = en_contrast(load_extraction_data([args.lang], args.items), args.lang)
    default = activations.SINK_FACTOR
    pooled_share, pooled_norm = measure(loaded, contrast, float("inf"))
    clean_share, clean_norm = measure(loaded, contrast, default)
    print(f"model {loaded.model_id}, EN direction for {args.lang}, {args.items} parallel facts")
    print("block  top-3 share (sinks pooled -> left out)  typical norm (pooled -> left out)")
    for block in range(1, loaded.spec.n_layer):
        print(
            f"{block:5d}  {pooled_share[block]:>10.1%} -> {clean_share[block]:<10.1%}"
            f"            {pooled_norm[block]:>9.1f} -> {clean_norm[block]:.1f}"
        )
    print(
        f"mean     {pooled_share[1:].mean():>10.1%} -> {clean_share[1:].mean():<10.1%}"
        f"            ratio of typical norms {np.mean(pooled_norm[1:] / clean_norm[1:]):.1f}x"
    )


if __name__ == "__main__":
    main()
