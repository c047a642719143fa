"""The runtime never loads the PyTorch world: checked in fresh interpreters that import every
runtime module, and that run the commands on the real model, by reading ``sys.modules`` at exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from surgsteer_cli import vector_file

FORBIDDEN = ("torch", "transformers", "accelerate", "matplotlib")

RUN_AND_REPORT = """
import atexit, json, sys
atexit.register(lambda: json.dump(sorted(sys.modules), open(sys.argv[1], "w")))
from surgsteer_cli.cli import main
main(sys.argv[2:], prog_name="surgsteer")
"""

IMPORT_ALL = """
import importlib, json, pkgutil, sys
import surgsteer_cli
for module in pkgutil.walk_packages(surgsteer_cli.__path__, "surgsteer_cli."):
    if module.name != "surgsteer_cli.__main__":
        importlib.import_module(module.name)
print(json.dumps(sorted(sys.modules)))
"""


def forbidden(modules: list[str]) -> list[str]:
    return [name for name in modules if name.split(".")[0] in FORBIDDEN]


def test_importing_every_runtime_module_loads_no_torch() -> None:
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL], capture_output=True, check=True)
    modules = json.loads(done.stdout)
    assert "surgsteer_cli.commands.ask" in modules
    assert forbidden(modules) == []


@pytest.mark.usefixtures("small_model")
@pytest.mark.parametrize(
    ("args", "stdin", "expected_module"),
    [
        (["ask", "--json", "--max-tokens", "2", "대한민국의 긴급 전화번호는?"], "", "gguf"),
        (["chat", "--max-tokens", "2"], "What is the capital of France?\n/quit\n", "llama_cpp"),
        (["doctor"], "", "llama_cpp"),
    ],
)
def test_commands_on_the_real_model_load_no_torch(
    make_vector, tmp_path: Path, args: list[str], stdin: str, expected_module: str
) -> None:
    vectors = tmp_path / "vectors"
    vector_file.write(make_vector("loc", "ko", [12]), vectors / "ko.loc.gguf")
    report = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_REPORT, str(report), *args, "--vectors", str(vectors)],
        input=stdin.encode(),
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()
    if args[0] == "ask":
        assert json.loads(done.stdout)["profile"] == "ko"
    modules = json.loads(report.read_text())
    assert expected_module in modules
    assert forbidden(modules) == []
