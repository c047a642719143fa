"""``surgsteer eval --workers N`` on a real local Ray runtime (two workers, a few items): the
rows of a run in one process (a steered config, so a worker that did not steer would
differ), a SIGKILLed worker's shards retried, Ctrl-C on the driver stopping the workers and
leaving a run that resumes, clear errors, and no Ray at all without ``--workers``. Each run is
a real ``surgsteer`` process, as a user starts it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from benchmarks.interrupt_runs import default_sigint
from surgsteer_cli import vector_file
from surgsteer_cli.cli import main
from surgsteer_cli.evaluation.results import RESULTS
from surgsteer_cli.evaluation.settings import Setting
from surgsteer_cli.evaluation.units import TIMING_FIELDS, ModelWork, Unit
from surgsteer_cli.vector_file import SteeringVector

pytest.importorskip("ray")

REPO_ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 300
RAY_MODULES = "ray modules imported:"
IN_ONE_PROCESS = f"""
import sys
from surgsteer_cli.cli import main
try:
    main(sys.argv[1:])
finally:
    modules = sorted(m for m in sys.modules if m.split(".")[0] == "ray")
    print("{RAY_MODULES}", modules, file=sys.stderr)
"""

NO_RAY = """
import sys
sys.modules["ray"] = None  # what an install without the cluster extra finds
from surgsteer_cli.cli import main
main(sys.argv[1:])
"""


def surgsteer_eval(
    model: Path, out: Path, *extra: str, python: str = "", vectors: Path | None = None
) -> list[str]:
    """A small ``eval`` (Korean, two items per axis, one thread) as a command line: unsteered,
    or with ``vectors`` unsteered and surgical on Transfer and native Localization;
    ``python``: code run with it as arguments instead of ``-m surgsteer_cli``."""
    start = ["-c", python, "eval"] if python else ["-m", "surgsteer_cli", "eval"]
    options = ["--lang", "ko", "--limit", "2", "--threads", "1"]
    if vectors is None:
        options += ["--config", "none"]
    else:
        options += ["--config", "none,surgical", "--vectors", str(vectors)]
        options += ["--localization", "native"]
    return [sys.executable, *start, "--model", str(model), *options, "--out", str(out), *extra]


def start(command: list[str], home: Path) -> subprocess.Popen[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "SURGSTEER_HOME": str(home)}
    return subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )


def finish(process: subprocess.Popen[str]) -> str:
    """Wait for ``process``; its stderr, which must hold no traceback."""
    _, stderr = process.communicate(timeout=TIMEOUT_S)
    assert "Traceback" not in stderr, stderr
    return stderr


def rows(out: Path) -> list[str]:
    """The results file's rows without their timings, sorted (the order of a sharded run
    differs)."""
    lines = (out / RESULTS).read_text(encoding="utf-8").splitlines()
    return sorted(
        json.dumps({k: v for k, v in json.loads(line).items() if k not in TIMING_FIELDS})
        for line in lines
    )


def outcomes(lines: list[str], setting: str) -> dict[tuple[str, str], object]:
    """What each item of ``setting`` came out as (the row without what names the setting)."""
    found = {}
    for row in map(json.loads, lines):
        if row["setting"] == setting:
            key = (row.pop("axis"), row.pop("item"))
            found[key] = {k: v for k, v in row.items() if k not in ("setting", "scales")}
    return found


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def vectors(
    tmp_path_factory: pytest.TempPathFactory, make_vector: Callable[..., SteeringVector]
) -> Path:
    """EN and LOC vectors for Korean, strong enough to change every Transfer item's scores."""
    directory = tmp_path_factory.mktemp("vectors")
    vector_file.write(make_vector("en", "ko", [5, 6], scale=2.0), directory / "ko.en.gguf")
    vector_file.write(make_vector("loc", "ko", [12], seed=1), directory / "ko.loc.gguf")
    return directory


@pytest.fixture(scope="module")
def one_process(
    tmp_path_factory: pytest.TempPathFactory, model_path: Path, home: Path, vectors: Path
) -> tuple[list[str], str]:
    """The rows of a run without ``--workers`` (unsteered and surgical; each surgical Transfer
    item gets other scores than its unsteered twin), and the Ray modules it imported."""
    out = tmp_path_factory.mktemp("one-process")
    command = surgsteer_eval(model_path, out, python=IN_ONE_PROCESS, vectors=vectors)
    process = start(command, home)
    stderr = finish(process)
    assert process.returncode == 0, stderr
    unsteered, surgical = outcomes(rows(out), "none"), outcomes(rows(out), "surgical")
    assert unsteered.keys() == surgical.keys() and len(surgical) == 4
    transfer = [key for key in surgical if key[0] == "transfer"]
    assert len(transfer) == 2 and all(surgical[key] != unsteered[key] for key in transfer)
    return rows(out), stderr


def wait_until(condition: Callable[[], object], process: subprocess.Popen[str]) -> object:
    """Poll ``condition`` until it is true while ``process`` runs; its value."""
    deadline = time.monotonic() + TIMEOUT_S
    while not (value := condition()):
        assert process.poll() is None, finish(process)
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def scored(out: Path) -> int:
    path = out / RESULTS
    return len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else 0


def scoring_worker(driver: psutil.Process) -> psutil.Process | None:
    """A Ray worker of ``driver``'s runtime that is scoring a shard right now (Ray names the
    process after the method it runs)."""
    for process in driver.children(recursive=True):
        try:
            if process.cmdline()[:1] == ["ray::Worker.score"]:
                return process
        except psutil.Error:
            continue
    return None


def test_without_workers_ray_is_never_imported(one_process: tuple[list[str], str]) -> None:
    _, stderr = one_process
    assert f"{RAY_MODULES} []" in stderr


def test_two_workers_give_the_rows_of_one_process(
    tmp_path: Path,
    model_path: Path,
    home: Path,
    vectors: Path,
    one_process: tuple[list[str], str],
) -> None:
    expected, _ = one_process
    command = surgsteer_eval(model_path, tmp_path, "--workers", "2", vectors=vectors)
    process = start(command, home)
    stderr = finish(process)
    assert process.returncode == 0, stderr
    assert rows(tmp_path) == expected
    assert "driver: " in stderr and " ms/item besides waiting" in stderr


def test_a_killed_worker_loses_only_its_shards_which_are_retried(
    tmp_path: Path,
    model_path: Path,
    home: Path,
    vectors: Path,
    one_process: tuple[list[str], str],
) -> None:
    expected, _ = one_process
    command = surgsteer_eval(model_path, tmp_path, "--workers", "2", vectors=vectors)
    process = start(command, home)
    driver = psutil.Process(process.pid)
    wait_until(lambda: scored(tmp_path), process)  # past start-up: shards come back
    worker = wait_until(lambda: scoring_worker(driver), process)
    assert scored(tmp_path) < len(expected)
    worker.send_signal(signal.SIGKILL)
    stderr = finish(process)
    assert process.returncode == 0, stderr
    assert rows(tmp_path) == expected  # every row, once


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_the_driver_stops_the_workers_and_a_rerun_resumes(
    tmp_path: Path,
    model_path: Path,
    home: Path,
    vectors: Path,
    one_process: tuple[list[str], str],
    stop: signal.Signals,
) -> None:
    """SIGTERM stops a run on Ray as Ctrl-C does ("Interrupted.", status 130)."""
    expected, _ = one_process
    command = surgsteer_eval(model_path, tmp_path, "--workers", "2", vectors=vectors)
    process = start(command, home)
    driver = psutil.Process(process.pid)
    wait_until(lambda: scored(tmp_path) and scoring_worker(driver), process)
    ray_processes = driver.children(recursive=True)
    process.send_signal(stop)
    stderr = finish(process)
    assert process.returncode == 130, stderr
    _, alive = psutil.wait_procs(ray_processes, timeout=30)
    assert not alive, [process.cmdline() for process in alive]
    assert 0 < scored(tmp_path) < len(expected)
    rerun = start(surgsteer_eval(model_path, tmp_path, vectors=vectors), home)  # one process
    stderr = finish(rerun)
    assert rerun.returncode == 0, stderr
    assert rows(tmp_path) == expected


def test_models_are_spread_over_the_workers_and_kept_there() -> None:
    """Two models, two workers: each worker gets one model and keeps it until its shards run
    out, then helps with the other; every item is handed out once."""
    from surgsteer_cli.evaluation.cluster import SHARD_ITEMS, _Queue

    unit = Unit(Setting("none"), "ko", "transfer", list(range(3 * SHARD_ITEMS)), None)
    works = [ModelWork(Path(f"{name}.gguf"), name, [unit]) for name in ("q8", "q4")]
    queue = _Queue(works)
    handed: dict[int, list[tuple[str, int]]] = {0: [], 1: []}
    for worker in (0, 1, 0, 1, 0, 0):  # worker 0 runs out of q8 first, then helps with q4
        shard = queue.next_for(worker)
        assert shard is not None
        handed[worker] += [(shard.name, item) for item in shard.unit.items]
    assert queue.next_for(1) is None
    assert {name for name, _ in handed[0][: 3 * SHARD_ITEMS]} == {"q8"}
    assert {name for name, _ in handed[1]} == {"q4"}
    everything = sorted(handed[0] + handed[1])
    assert everything == sorted((name, item) for name in ("q8", "q4") for item in unit.items)


def test_zero_workers_are_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["eval", "--workers", "0", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "Invalid value for '--workers': 0 is not in the range x>=1." in result.stderr


def test_an_unreachable_cluster_is_one_error(tmp_path: Path, model_path: Path) -> None:
    args = ["eval", "--lang", "ko", "--config", "none", "--limit", "1", "--out", str(tmp_path)]
    result = CliRunner().invoke(main, [*args, "--ray-address", "127.0.0.1:1"])
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: cannot reach a Ray cluster at 127.0.0.1:1: Connection refused"
    )
    assert not (tmp_path / RESULTS).read_text()


def test_workers_without_ray_say_how_to_install_it(tmp_path: Path, model_path: Path) -> None:
    command = surgsteer_eval(model_path, tmp_path, "--workers", "2", python=NO_RAY)
    process = start(command, tmp_path)
    stderr = finish(process)
    assert process.returncode == 1, stderr
    assert stderr.strip().splitlines()[-1] == (
        "Error: --workers and --ray-address need Ray: pip install 'surgsteer[cluster]'"
    )


def test_a_project_error_in_a_worker_is_one_error_line(
    tmp_path: Path, model_path: Path, ko_profile: Path
) -> None:
    """A band the model lacks fails where the control vector is built: in the worker."""
    steered = ["--vectors", str(ko_profile), "--config", "en-mid", "--en-layers", "30-40"]
    command = surgsteer_eval(model_path, tmp_path / "run", *steered, "--workers", "1")
    process = start(command, tmp_path)
    stderr = finish(process)
    assert process.returncode == 1, stderr
    assert stderr.strip().splitlines()[-1] == (
        "Error: layer range 30-40 is outside blocks 1..17 of this 18-layer model"
    )
