"""Fixtures shared by all tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    from surgsteer_cli.engine import Engine
    from surgsteer_cli.model_spec import ModelSpec
    from surgsteer_cli.vector_file import SteeringVector

REPO_ROOT = Path(__file__).resolve().parents[1]
TEST_MODEL = "gemma3-270m"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real third-party data beside the checkout: ``<repo>/../shared/data``."""
    path = REPO_ROOT.parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path}")
    return path


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_path: Path) -> None:
    """Keep user data in a temporary SURGSTEER_HOME, forbid Hugging Face downloads, and run
    the small test model unless a test names another (commands read SURGSTEER_MODEL)."""
    monkeypatch.setenv("SURGSTEER_HOME", str(tmp_path / "surgsteer-home"))
    monkeypatch.setenv("SURGSTEER_MODEL", str(model_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def user_hf_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the config and tokenizer transformers derives from a GGUF (``hf-metadata``, a
    minute to read for a big vocabulary) in the user's cache, where the module-scoped models
    of test_convert_model keep theirs, instead of reading them again in every test's home."""
    from surgsteer_cli import paths

    with monkeypatch.context() as real:
        real.delenv("SURGSTEER_HOME")
        shared = paths.cache_dir() / "hf-metadata"
    shared.mkdir(parents=True, exist_ok=True)
    paths.cache_dir().mkdir(parents=True)
    (paths.cache_dir() / "hf-metadata").symlink_to(shared, target_is_directory=True)


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The small named model that most tests run (Gemma 3 270M: fast). Session fixtures are set
    up before the function-scoped ``isolated_environment``, so it is assembled once into the
    real cache, not per test."""
    from surgsteer_cli.models import resolve_model

    return resolve_model(TEST_MODEL)


@pytest.fixture(scope="session")
def capable_model_path() -> Path:
    """The default model (Qwen2.5-Coder-1.5B-Instruct), assembled once into the real cache."""
    from surgsteer_cli.models import DEFAULT_MODEL, resolve_model

    return resolve_model(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def small_engine(model_path: Path) -> Engine:
    """The small test model (Gemma 3 270M) loaded once into llama.cpp for the whole session."""
    from surgsteer_cli.engine import Engine

    return Engine(model_path)


@pytest.fixture
def engine(small_engine: Engine) -> Iterator[Engine]:
    """The shared engine, unsteered before and after the test."""
    small_engine.set_control(None)
    yield small_engine
    small_engine.set_control(None)


@pytest.fixture
def small_model(model_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Commands (in process or in a subprocess) run the cached small test model."""
    monkeypatch.setenv("SURGSTEER_MODEL", str(model_path))
    return model_path


@pytest.fixture
def cached_engine(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """In-process commands get the shared engine of the small model instead of loading it
    again (other model paths still load for real); SURGSTEER_MODEL points at it."""
    from surgsteer_cli import session
    from surgsteer_cli.engine import Engine

    def load(path: Path, **options: object) -> Engine:
        return engine if Path(path) == engine.path else Engine(path, **options)

    monkeypatch.setattr(session, "Engine", load)
    monkeypatch.setenv("SURGSTEER_MODEL", str(engine.path))
    return engine


@pytest.fixture(scope="session")
def make_vector(small_engine: Engine) -> Callable[..., SteeringVector]:
    """Build a SteeringVector for the small test model: seeded random directions of norm
    ``norm`` at ``layers`` (or the given ``directions``)."""
    from surgsteer_cli.vector_file import SteeringVector

    def make(
        role: str,
        language: str,
        layers: Iterable[int] = (),
        *,
        norm: float = 10.0,
        scale: float = 1.0,
        band: tuple[int, int] | None = None,
        seed: int = 0,
        directions: dict[int, np.ndarray] | None = None,
        spec: ModelSpec | None = None,
    ) -> SteeringVector:
        spec = spec or small_engine.spec
        if directions is None:
            rng = np.random.default_rng(seed)
            directions = {}
            for layer in layers:
                direction = rng.standard_normal(spec.n_embd).astype(np.float32)
                directions[layer] = direction * np.float32(norm / np.linalg.norm(direction))
        return SteeringVector(
            role=role,
            language=language,
            model=spec,
            directions=directions,
            default_scale=scale,
            band=band,
            method="random test vector",
        )

    return make


@pytest.fixture
def ko_profile(make_vector: Callable[..., SteeringVector], tmp_path: Path) -> Path:
    """EN and LOC vectors for Korean, so that answers run steered (with --lang ko)."""
    from surgsteer_cli import vector_file

    directory = tmp_path / "vectors"
    vector_file.write(make_vector("en", "ko", [5, 6], scale=2.0), directory / "ko.en.gguf")
    vector_file.write(make_vector("loc", "ko", [12], seed=1), directory / "ko.loc.gguf")
    return directory
