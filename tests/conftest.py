"""Fixtures shared by all tests."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real third-party data beside the checkout: ``<repo>/../shared/data``."""
    path = REPO_ROOT.parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path}")
    return path


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep user data in a temporary SURGSTEER_HOME and forbid Hugging Face downloads."""
    monkeypatch.setenv("SURGSTEER_HOME", str(tmp_path / "surgsteer-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
