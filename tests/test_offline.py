"""The main commands (detect, vectors, ask, doctor, eval, extract) run with the network
blocked and never try to reach it.

Each command runs in a subprocess with HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1 and
``tests/offline_guard/sitecustomize.py`` on PYTHONPATH, which records and refuses every host-name
lookup and internet connection. The guard sees Python code (transformers, huggingface_hub,
urllib, requests); llama.cpp, in C++, is only ever given local file paths.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from surgsteer_cli import vector_file
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.vector_file import SteeringVector

REPO_ROOT = Path(__file__).resolve().parents[1]
GUARD = Path(__file__).parent / "offline_guard"
KOREAN = "대한민국의 긴급 전화번호는 무엇인가요?"


def run_offline(
    command: list[str], tmp_path: Path, stdin: str | None = None, *, user_cache: bool = False
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run ``command`` behind the guard; return its result and the network attempts logged.
    ``user_cache``: use the user's cache (as tests/test_convert_model.py does, so the PyTorch
    conversion of the small test model is made once per machine) instead of the test's home."""
    log = tmp_path / "network.log"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(GUARD), str(REPO_ROOT)]),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "SURGSTEER_NET_LOG": str(log),
    }
    if user_cache:
        del env["SURGSTEER_HOME"]
    result = subprocess.run(
        command, input=stdin, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600
    )
    attempts = log.read_text().splitlines() if log.exists() else []
    return result, attempts


def surgsteer(*args: str) -> list[str]:
    return [sys.executable, "-m", "surgsteer_cli", *args]


def test_the_guard_records_and_refuses_a_download(tmp_path: Path) -> None:
    fetch = "import urllib.request; urllib.request.urlopen('https://huggingface.co', timeout=5)"
    result, attempts = run_offline([sys.executable, "-c", fetch], tmp_path)
    assert result.returncode != 0
    assert "network access blocked by the offline test" in result.stderr
    assert attempts and "huggingface.co" in attempts[0]


@pytest.fixture
def vector_path(tmp_path: Path) -> Path:
    spec = ModelSpec("gemma3", 18, 640, "0123456789abcdef")
    direction = np.full(640, 0.01, dtype=np.float32)
    vector = SteeringVector("en", "ko", spec, {6: direction}, band=(6, 6))
    return vector_file.write(vector, tmp_path / "en-ko.gguf")


def test_detect(tmp_path: Path) -> None:
    result, attempts = run_offline(surgsteer("detect", "--json"), tmp_path, stdin=KOREAN)
    assert result.returncode == 0, result.stderr
    assert '"language": "ko"' in result.stdout
    assert attempts == []


def test_vectors_ls_and_inspect(tmp_path: Path, vector_path: Path) -> None:
    for args in (("ls",), ("ls", str(vector_path.parent)), ("inspect", str(vector_path))):
        result, attempts = run_offline(surgsteer("vectors", *args), tmp_path)
        assert result.returncode == 0, result.stderr
        assert attempts == []


def test_ask_with_the_embedded_model_in_an_empty_home(tmp_path: Path) -> None:
    """The test model (SURGSTEER_MODEL) is assembled from its installed package, not downloaded."""
    assert not (Path(os.environ["SURGSTEER_HOME"]) / "cache").exists()
    result, attempts = run_offline(surgsteer("ask", "--max-tokens", "2", KOREAN), tmp_path)
    assert result.returncode == 0, result.stderr
    assert attempts == []


def test_doctor(tmp_path: Path, small_model: Path) -> None:
    result, attempts = run_offline(surgsteer("doctor"), tmp_path)
    assert result.returncode == 0, result.stderr
    assert attempts == []


def test_eval(tmp_path: Path, small_model: Path) -> None:
    args = ("--lang", "ko", "--config", "none", "--limit", "1", "--out", str(tmp_path / "run"))
    result, attempts = run_offline(surgsteer("eval", *args), tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "results.jsonl").is_file()
    assert attempts == []


def test_extract_with_the_pytorch_model(tmp_path: Path) -> None:
    """transformers loads (and, the first time, converts) the model from local files only."""
    bands = ("--en-layers", "5-6", "--loc-layers", "12-13")
    args = ("--lang", "ko", "--max-items", "2", *bands, "--out", str(tmp_path / "vectors"))
    result, attempts = run_offline(surgsteer("extract", *args), tmp_path, user_cache=True)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "vectors").iterdir()) == ["ko.en.gguf", "ko.loc.gguf"]
    assert attempts == []
