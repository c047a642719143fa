"""The resumable per-item results file: append, resume, torn last line, corruption."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.evaluation.results import RESULTS, ResultStore, row_key

RUN = {"format": 1, "split": "test"}


def result(item: int, correct: bool = True) -> dict:
    return {
        "model": "m",
        "setting": "none",
        "language": "ko",
        "axis": "transfer",
        "item": str(item),
        "correct": correct,
        "choice": 0,
    }


def fill(directory: Path, count: int) -> None:
    with ResultStore(directory, RUN) as store:
        for item in range(count):
            store.add(result(item))


def test_rows_survive_and_are_skipped_on_resume(tmp_path: Path) -> None:
    fill(tmp_path, 3)
    with ResultStore(tmp_path, RUN) as store:
        assert row_key(result(1)) in store
        assert row_key(result(3)) not in store
        store.add(result(3))
    lines = (tmp_path / RESULTS).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["item"] for line in lines] == ["0", "1", "2", "3"]


def test_rows_are_on_disk_before_close(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, RUN)
    store.add(result(0))
    assert json.loads((tmp_path / RESULTS).read_text(encoding="utf-8")) == result(0)
    store.close()


def test_adding_a_recorded_result_again_is_refused(tmp_path: Path) -> None:
    with ResultStore(tmp_path, RUN) as store:
        store.add(result(0))
        with pytest.raises(SurgsteerError, match="already recorded"):
            store.add(result(0, correct=False))


def test_torn_last_line_is_dropped_with_a_warning(tmp_path: Path, capsys) -> None:
    fill(tmp_path, 2)
    path = tmp_path / RESULTS
    complete = path.read_bytes()
    path.write_bytes(complete + b'{"model": "m", "setting": "no')
    with ResultStore(tmp_path, RUN) as store:
        assert len(store.rows) == 2
        store.add(result(2))
    assert "incomplete last line" in capsys.readouterr().err
    assert path.read_bytes() == complete + (json.dumps(result(2)) + "\n").encode()


@pytest.mark.parametrize(
    "bad_line",
    [b"not json\n", b'["a list"]\n', b'{"model": "m"}\n', b"\n", b"\xff\xfe\n"],
    ids=["garbage", "not-an-object", "missing-key", "blank", "bad-utf8"],
)
def test_a_corrupt_complete_line_is_an_error_that_suggests_fresh(
    tmp_path: Path, bad_line: bytes
) -> None:
    fill(tmp_path, 2)
    path = tmp_path / RESULTS
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + bad_line + lines[1])
    with pytest.raises(SurgsteerError, match=r"results.jsonl:2: corrupt .*--fresh"):
        ResultStore(tmp_path, RUN)
    with ResultStore(tmp_path, RUN, fresh=True) as store:
        assert store.rows == {}


def test_duplicate_rows_are_an_error(tmp_path: Path) -> None:
    fill(tmp_path, 1)
    path = tmp_path / RESULTS
    path.write_bytes(path.read_bytes() * 2)
    with pytest.raises(SurgsteerError, match="duplicate result"):
        ResultStore(tmp_path, RUN)


def test_resuming_with_other_options_is_refused(tmp_path: Path) -> None:
    fill(tmp_path, 1)
    with pytest.raises(SurgsteerError, match="split=test.*--fresh"):
        ResultStore(tmp_path, {**RUN, "split": "tune"})
    with ResultStore(tmp_path, {**RUN, "split": "tune"}, fresh=True) as store:
        assert store.rows == {}
