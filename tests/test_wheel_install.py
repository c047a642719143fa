"""The README's ``pip install .`` (not editable): the wheel holds exactly the project's packages
and the shipped data, and the installed ``surgsteer``, run outside the checkout, finds its
vectors and prompts inside the wheel, not in the checkout."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("vectors", "prompts")
DATA = "surgsteer_cli/_data"


def shipped_files(folder: str) -> set[str]:
    """The files of a shipped top-level folder, relative to the repository root."""
    return {
        path.relative_to(REPO_ROOT).as_posix()
        for path in (REPO_ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip wheel . --no-deps``: the build backend comes from the package index."""
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", str(REPO_ROOT), "--no-deps", "-q", "-w"]
    subprocess.run([*command, str(out)], check=True, capture_output=True, timeout=300)
    (built,) = out.glob("*.whl")
    return built


def current_site_dirs() -> list[str]:
    """The site-packages folders this interpreter imports from (the user's too, if it reads
    them): in a venv the venv's own, not its base interpreter's."""
    user = [site.getusersitepackages()] if site.ENABLE_USER_SITE else []
    return [folder for folder in [*site.getsitepackages(), *user] if Path(folder).is_dir()]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed into it that takes its dependencies from *this*
    environment's site folders (a ``.pth`` file adds them after its own, with their ``.pth``
    files); its ``bin`` folder. (``system_site_packages`` would give it the base
    interpreter's packages, which lack the dependencies when this one is itself a venv.)"""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    lines = [f"import site; site.addsitedir({folder!r})" for folder in current_site_dirs()]
    (Path(purelib) / "surgsteer-test-deps.pth").write_text("\n".join(lines) + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    subprocess.run([*pip, "--no-deps", "--no-index", str(wheel)], check=True, timeout=120)
    return env_dir / "bin"


def run_installed(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A command of the venv, from ``cwd``, without the checkout on PYTHONPATH."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_wheel_holds_only_the_project_packages_and_the_shipped_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top_level == {"surgsteer_cli", "surgsteer_convert"}
    packaged = {name.removeprefix(f"{DATA}/") for name in names if name.startswith(DATA)}
    for folder in SHIPPED:
        assert shipped_files(folder) <= packaged, folder
    wheel_file = zipfile.ZipFile(wheel)
    builders = [n for n in names if n.endswith(".py") and b"cmake" in wheel_file.read(n)]
    assert builders == []  # building llama.cpp is a benchmark tool, not the product


def test_the_installed_command_runs_outside_the_checkout_on_the_wheels_data(
    installed: Path, tmp_path: Path
) -> None:
    site = run_installed(
        installed,
        tmp_path,
        "python",
        "-c",
        "import surgsteer_cli, surgsteer_convert; from surgsteer_cli.paths import resource_dir;"
        "print(surgsteer_cli.__file__, surgsteer_convert.__file__, *map(resource_dir, "
        f"{SHIPPED!r}))",
    )
    assert site.returncode == 0, site.stderr
    locations = [Path(word) for word in site.stdout.split()]
    venv_root = installed.parent
    assert all(venv_root in location.parents for location in locations), locations
    assert [location.name for location in locations[2:]] == list(SHIPPED)

    usage = run_installed(installed, tmp_path, "surgsteer", "--help")
    assert usage.returncode == 0, usage.stderr
    assert "ask" in usage.stdout

    listed = run_installed(installed, tmp_path, "surgsteer", "vectors", "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    files = [Path(record["file"]) for record in json.loads(listed.stdout)]
    assert len(files) == len({f for f in shipped_files("vectors") if f.endswith(".gguf")})
    assert all(locations[2] in file.parents for file in files)

    models = run_installed(installed, tmp_path, "surgsteer", "models", "--json")
    assert models.returncode == 0, models.stderr
    assert all(model["shipped_vectors"] > 0 for model in json.loads(models.stdout))


def test_the_venv_imports_the_dependencies_of_this_environment(
    installed: Path, tmp_path: Path
) -> None:
    import click
    import rich

    code = "import click, rich; print(click.__file__, rich.__file__)"
    found = run_installed(installed, tmp_path, "python", "-c", code)
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == [click.__file__, rich.__file__]
