"""Running the real ``surgsteer`` command in a subprocess, from the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_surgsteer(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m surgsteer_cli ARGS`` in the repository root; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "surgsteer_cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=timeout,
    )
