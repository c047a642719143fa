"""``vectors inspect`` shows how much of each direction sits in its three largest coordinates,
and warns when "massive activation" coordinates dominate it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from surgsteer_cli import vector_file
from surgsteer_cli.inspection import top_share
from tests.cli import run_surgsteer


def test_top_share_of_spread_and_spiky_directions() -> None:
    spread = np.ones(1000, dtype=np.float32)
    assert abs(top_share(spread) - 0.003) < 1e-6
    spiky = spread.copy()
    spiky[[7, 70, 700]] = 100.0
    assert top_share(spiky) > 0.96


def test_inspect_flags_dominated_blocks(make_vector, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    directions = {}
    for layer in range(1, 6):
        direction = rng.standard_normal(640).astype(np.float32)
        if layer >= 4:
            direction[[1, 2, 3]] = 500.0
        directions[layer] = direction
    path = vector_file.write(make_vector("en", "ko", directions=directions), tmp_path / "v.gguf")
    result = run_surgsteer("vectors", "inspect", str(path))
    assert result.returncode == 0, result.stderr
    assert "top-3 share" in result.stdout
    assert "blocks 4-5: over 50%" in " ".join(result.stderr.split())
