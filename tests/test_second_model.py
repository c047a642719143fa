"""Nothing Gemma-specific: the runtime on a second architecture, SmolLM2-135M-Instruct (llama,
30 blocks, n_embd 576, a chat template), with the vectors shipped for it in
``vectors/smollm2-135m`` (made by the same ``surgsteer extract``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from benchmarks.interrupt_runs import smollm2
from surgsteer_cli.engine import Engine
from surgsteer_cli.evaluation.localization import AXES
from surgsteer_cli.profiles import discover
from surgsteer_cli.steering import profile_buffer
from surgsteer_cli.vector_file import read
from tests.cli import run_surgsteer

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "vectors" / "smollm2-135m"
MODEL = smollm2()
pytestmark = pytest.mark.skipif(MODEL is None, reason="SmolLM2 comes with the dev extra")


@pytest.fixture(scope="module")
def engine() -> Engine:
    assert MODEL is not None
    return Engine(MODEL, n_ctx=512)


def surgsteer(*args: str) -> subprocess.CompletedProcess[str]:
    return run_surgsteer(*args, timeout=300)


def test_shipped_vectors_fit_smollm2_and_not_gemma(engine: Engine, small_engine: Engine) -> None:
    assert (engine.spec.architecture, engine.spec.n_layer, engine.spec.n_embd) == (
        "llama",
        30,
        576,
    )
    vector = read(SHIPPED / "ko.loc.gguf")
    vector.check_compatible(engine.spec)
    assert vector.model.fingerprint != small_engine.spec.fingerprint
    assert "ko" in discover(engine.spec)
    assert all(
        SHIPPED not in profile.sources[0].parents
        for profile in discover(small_engine.spec).values()
    )


def test_each_profile_steers_smollm2(engine: Engine) -> None:
    profiles = discover(engine.spec)
    engine.set_control(None)
    base = engine.next_logits("Q: What is the emergency number?\nA:")
    for language, profile in sorted(profiles.items()):
        engine.set_control(profile_buffer(profile, engine.spec, en_scale=0.2, loc_scale=0.2))
        steered = engine.next_logits("Q: What is the emergency number?\nA:")
        assert np.max(np.abs(steered - base)) > 0.1, language
    engine.set_control(None)


def test_ask_runs_unchanged_on_smollm2() -> None:
    done = surgsteer(
        "ask",
        "--model",
        str(MODEL),
        "--lang",
        "ko",
        "--json",
        "--max-tokens",
        "8",
        "긴급 전화번호는?",
    )
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["profile"] == "ko" and set(record["scales"]) == {"en"}
    assert record["system"] == "The user is in South Korea."  # the default --localize prompt
    assert record["answer"].strip()


def test_eval_runs_unchanged_on_smollm2(tmp_path: Path) -> None:
    args = ["--lang", "ko", "--config", "none,surgical", "--limit", "2", "--out", str(tmp_path)]
    done = surgsteer("eval", "--model", str(MODEL), *args)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert {(row["setting"], row["axis"]) for row in rows if row["language"] == "ko"} == {
        (setting, axis) for setting in ("none", "surgical") for axis in ("transfer", *AXES.values())
    }
    assert (tmp_path / "plane.png").stat().st_size > 0
