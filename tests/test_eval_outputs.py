"""``surgsteer eval`` when its run directory misbehaves: a full disk, a read-only folder, a
path through a file, a second run writing there at the same time, hand-edited result rows.
Each ends in one ``Error:`` line that names the path, never a traceback, and loses no row."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from surgsteer_cli.cli import main
from surgsteer_cli.engine import Engine
from surgsteer_cli.evaluation import runner
from surgsteer_cli.evaluation.results import RESULTS, ResultStore
from tests.cli import run_surgsteer

PAGE = 4096


@pytest.fixture
def shared_engine(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """``eval`` scores with the session's loaded model instead of loading it again."""
    monkeypatch.setattr(runner, "Engine", lambda path, **options: engine)
    return engine


def mount_tmpfs(directory: Path, size: str) -> None:
    directory.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode})")


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs, large enough for a small run (mounting needs root; skipped otherwise),
    unmounted afterwards."""
    disk = tmp_path / "disk"
    mount_tmpfs(disk, "1m")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=True)


def evaluate(model_path: Path, out: Path, *extra: str) -> Result:
    args = ["eval", "--model", model_path, "--lang", "ko", "--config", "none", "--limit", "1"]
    result = CliRunner().invoke(main, [str(arg) for arg in [*args, "--out", out, *extra]])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and result.stderr.rstrip().endswith(errors[0]), result.stderr
    return errors[0]


def fill(disk: Path, free_pages: int) -> Path:
    """Fill ``disk`` with one file, then give back ``free_pages`` pages."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(bytes(PAGE))
    os.truncate(filler, max(0, filler.stat().st_size - free_pages * PAGE))
    return filler


@pytest.mark.usefixtures("shared_engine")
@pytest.mark.parametrize(
    ("free_pages", "file"),
    [
        (0, "run.json"),
        (1, "results.jsonl"),
        (2, "summary.csv"),
        (3, "summary.json"),
        (4, "answer-language.md"),
        (5, "plane.png"),
    ],
)
def test_a_full_disk_is_one_error_naming_the_file(
    disk: Path, model_path: Path, free_pages: int, file: str
) -> None:
    """Each page more lets the run write one file more (a small run's files take a page
    each, its plane several): every write meets the full disk in turn."""
    filler = fill(disk, free_pages)
    out = disk / "run"
    line = one_error_line(evaluate(model_path, out))
    assert line == f"Error: {out / file}: No space left on device"
    assert not list(out.glob(".*.partial"))
    filler.unlink()  # once there is room again, the same command completes
    assert evaluate(model_path, out).exit_code == 0


@pytest.mark.usefixtures("shared_engine")
def test_a_read_only_run_directory_is_one_error(disk: Path, model_path: Path) -> None:
    out = disk / "run"
    assert evaluate(model_path, out).exit_code == 0
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    line = one_error_line(evaluate(model_path, out))
    assert line.startswith(f"Error: {out}/") and line.endswith(": Read-only file system")


def test_an_out_path_through_a_file_is_one_error(tmp_path: Path, model_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    line = one_error_line(evaluate(model_path, tmp_path / "file" / "sub"))
    assert line == f"Error: {tmp_path / 'file' / 'sub'}: Not a directory"


ROW = {"model": "m", "setting": "none", "language": "ko", "axis": "transfer", "item": "1"}


def test_a_second_run_into_the_same_directory_is_refused(tmp_path: Path, model_path: Path):
    """Another process (a real second ``surgsteer eval``) cannot write, nor ``--fresh``
    delete, while a run holds the directory; it can once that run has finished."""
    out = tmp_path / "run"
    args = ["eval", "--model", str(model_path), "--lang", "ko", "--limit", "1", "--out", str(out)]
    with ResultStore(out, {"format": 1}) as store:
        store.add({**ROW, "correct": True, "choice": 0})
        for extra in ([], ["--fresh"]):
            done = run_surgsteer(*args, "--config", "none", *extra)
            assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
            assert done.stderr.strip().splitlines()[-1] == (
                f"Error: {out} is in use by another running eval; wait for it to finish "
                "or choose another --out"
            )
        assert len((out / RESULTS).read_text().splitlines()) == 1


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ({**ROW, "choice": 0}, "correct must be true or false"),
        ({**ROW, "correct": "yes", "choice": 0}, "correct must be true or false"),
        ({**ROW, "item": 1, "correct": True, "choice": 0}, "item must be a string"),
        ({**ROW, "correct": True}, "a transfer result needs an integer choice"),
        ({**ROW, "correct": True, "choice": 0, "scales": {"en": "NaN"}}, "scales must map"),
    ],
    ids=["no-correct", "correct-text", "item-int", "no-choice", "nan-scale"],
)
def test_hand_edited_rows_are_reported_by_line(
    tmp_path: Path, model_path: Path, row: dict, problem: str
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    good = {**ROW, "item": "0", "correct": True, "choice": 0}
    lines = [json.dumps(good), json.dumps(row).replace('"NaN"', "NaN")]
    (out / RESULTS).write_text("\n".join(lines) + "\n")
    line = one_error_line(evaluate(model_path, out))
    assert line.startswith(f"Error: {out / RESULTS}:2: corrupt results line ({problem}")
