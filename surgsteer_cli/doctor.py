"""``surgsteer doctor``: does this installation really steer? Each check returns a verdict.

The steering check matters most: on some llama.cpp builds and architectures control vectors
have been silently ignored, so it compares the logits under a zero vector, a small random
vector at a middle block, and no vector.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from importlib import metadata

import numpy as np

from surgsteer_cli import __version__, langid
from surgsteer_cli.engine import Engine, gpu_backend
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.profiles import discover
from surgsteer_cli.session import RuntimeOptions, Session, load_engine
from surgsteer_cli.steering import profile_buffer

PROBE_TEXT = "The capital of France is"
PROBE_NORM = 10.0
"""Norm of the random probe direction: small next to Gemma's hidden states, yet it moves
the logits of the default model by about 1 at its middle block."""

MIN_EFFECT = 1e-3
"""A logit change below this would be rounding noise, not steering."""

DETECTION_SAMPLES = {
    "en": "What is the emergency phone number in the United States?",
    "ko": "대한민국의 긴급 전화번호는 무엇인가요?",
    "es": "¿Cuál es la comida más popular en México?",
    "zh": "中国最受欢迎的节日是什么？",
    "ar": "ما هو الطبق الأكثر شعبية في مصر؟",
}

PACKAGES = ("llama-cpp-python", "gguf", "numpy", "rich", "click", "py3langid")


@dataclass(frozen=True)
class Check:
    """One verdict of the doctor."""

    name: str
    ok: bool
    detail: str


def versions() -> dict[str, str]:
    """Versions of Python, surgsteer and its runtime packages, and llama.cpp's backend."""
    found = {"python": platform.python_version(), "surgsteer": __version__}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    found["llama.cpp backend"] = gpu_backend() or "CPU only"
    return found


def run_checks(options: RuntimeOptions) -> list[Check]:
    """Every check; those that need the model fail together when it does not load."""
    started = time.perf_counter()
    try:
        engine = load_engine(options)
    except SurgsteerError as exc:
        return [Check("model loads", False, str(exc)), check_detection()]
    spec = engine.spec
    loaded = Check(
        "model loads",
        True,
        f"{engine.path.name}: {spec.architecture}, {spec.n_layer} blocks x {spec.n_embd}, "
        f"fingerprint {spec.fingerprint}, {time.perf_counter() - started:.1f} s on "
        f"{engine.backend}",
    )
    try:
        profiles = check_profiles(Session(engine, discover(spec, options.vectors)))
    except SurgsteerError as exc:
        profiles = Check("profiles", False, str(exc))
    return [loaded, check_steering(engine), profiles, check_detection()]


def check_steering(engine: Engine) -> Check:
    """A zero vector changes nothing, a random one changes the logits, clearing restores them."""
    spec = engine.spec
    block = spec.n_layer // 2
    direction = np.random.default_rng(0).standard_normal(spec.n_embd).astype(np.float32)
    buffer = np.zeros((spec.n_layer, spec.n_embd), dtype=np.float32)
    engine.set_control(buffer)
    zero = engine.next_logits(PROBE_TEXT)
    buffer[block - 1] = direction * np.float32(PROBE_NORM / np.linalg.norm(direction))
    engine.set_control(buffer)
    steered = engine.next_logits(PROBE_TEXT)
    engine.set_control(None)
    base = engine.next_logits(PROBE_TEXT)
    effect = float(np.max(np.abs(steered - base)))
    problems = []
    if effect <= MIN_EFFECT:
        problems.append("a vector does not change the logits: this build ignores control vectors")
    if not np.array_equal(zero, base):
        problems.append("a zero vector changes the logits")
    detail = f"max |logit change| {effect:.3g} for a norm-{PROBE_NORM:g} vector at block {block}"
    if problems:
        return Check("control vectors steer", False, f"{'; '.join(problems)} ({detail})")
    return Check("control vectors steer", True, f"{detail}; zero vector and clearing: no change")


def check_profiles(session: Session) -> Check:
    """Each profile found for the model changes the logits when applied."""
    engine = session.engine
    if not session.profiles:
        return Check("profiles", True, "none installed for this model (answers are unsteered)")
    engine.set_control(None)
    base = engine.next_logits(PROBE_TEXT)
    inert = []
    for code, profile in sorted(session.profiles.items()):
        engine.set_control(profile_buffer(profile, engine.spec))
        if np.array_equal(engine.next_logits(PROBE_TEXT), base):
            inert.append(code)
    engine.set_control(None)
    names = ", ".join(sorted(session.profiles))
    if inert:
        return Check("profiles", False, f"no effect on the logits: {', '.join(inert)} (of {names})")
    return Check("profiles", True, f"{names}; each changes the logits")


def check_detection() -> Check:
    """Sample questions are detected as their language."""
    wrong = []
    for code, text in DETECTION_SAMPLES.items():
        found = langid.detect(text, langid.DEFAULT_LANGUAGES).language
        if found != code:
            wrong.append(f"{code} detected as {found}")
    if wrong:
        return Check("language detection", False, "; ".join(wrong))
    return Check("language detection", True, f"{len(DETECTION_SAMPLES)} sample languages right")
