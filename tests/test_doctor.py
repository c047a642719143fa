"""``surgsteer doctor`` on the small test model, and its verdicts when something is wrong."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from surgsteer_cli import doctor, vector_file
from surgsteer_cli.cli import main
from surgsteer_cli.engine import Engine
from surgsteer_cli.profiles import Profile
from surgsteer_cli.session import Session


def run_doctor(*args: str) -> Result:
    return CliRunner().invoke(main, ["doctor", *args])


def verdicts(result: Result) -> dict[str, str]:
    """Check name -> "ok" or "FAIL", from the output lines."""
    found = {}
    for line in result.stdout.splitlines():
        mark, _, rest = line.partition(" ")
        if mark in ("ok", "FAIL"):
            found[rest.strip().split(":")[0]] = mark
    return found


@pytest.mark.usefixtures("cached_engine")
def test_healthy_installation_passes_every_check(make_vector, tmp_path: Path) -> None:
    vector_file.write(make_vector("loc", "ko", [12, 13]), tmp_path / "ko.loc.gguf")
    result = run_doctor("--vectors", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert verdicts(result) == {
        "model loads": "ok",
        "control vectors steer": "ok",
        "profiles": "ok",
        "language detection": "ok",
    }
    assert f"python            │ {platform.python_version()}" in result.stdout
    assert "llama-cpp-python" in result.stdout and "llama.cpp backend" in result.stdout
    assert "fingerprint be0a0b585c71cca7" in result.stdout


def test_a_model_that_does_not_load_fails(tmp_path: Path) -> None:
    model = tmp_path / "broken.gguf"
    model.write_bytes(b"GGUF" + b"\0" * 64)
    result = run_doctor("--model", str(model))
    assert result.exit_code == 1
    assert verdicts(result) == {"model loads": "FAIL", "language detection": "ok"}
    assert "cannot load model" in result.stdout


@pytest.mark.usefixtures("cached_engine")
def test_a_profile_without_effect_fails(make_vector, tmp_path: Path) -> None:
    # Both roles: a missing one would be filled in from the shipped vectors.
    vector_file.write(make_vector("en", "ko", [6], scale=0.0), tmp_path / "ko.en.gguf")
    vector_file.write(make_vector("loc", "ko", [12], scale=0.0), tmp_path / "ko.loc.gguf")
    result = run_doctor("--vectors", str(tmp_path))
    assert result.exit_code == 1
    assert verdicts(result)["profiles"] == "FAIL"
    assert "no effect on the logits: ko" in result.stdout


def test_a_build_that_ignores_control_vectors_fails(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "set_control", lambda buffer: engine.llm.reset())
    check = doctor.check_steering(engine)
    assert not check.ok
    assert "this build ignores control vectors" in check.detail


def test_steering_check_restores_an_unsteered_engine(engine: Engine, make_vector) -> None:
    before = engine.next_logits(doctor.PROBE_TEXT)
    assert doctor.check_steering(engine).ok
    profiles = {"ko": Profile("ko", loc=make_vector("loc", "ko", [12]))}
    assert doctor.check_profiles(Session(engine, profiles)).ok
    assert engine.control.uniform and engine.control.answer is None
    assert (engine.next_logits(doctor.PROBE_TEXT) == before).all()
