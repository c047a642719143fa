"""``surgsteer eval`` end to end on the small test model: a run killed midway and resumed ends
with exactly the rows of an uninterrupted run; missing vectors skip a language's steered
settings; bad input gives one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from surgsteer_cli import vector_file
from surgsteer_cli.cli import main
from surgsteer_cli.evaluation.results import KEY_FIELDS
from surgsteer_cli.evaluation.units import TIMING_FIELDS
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.models import model_metadata, resolve_model
from surgsteer_cli.vector_file import SteeringVector

REPO = Path(__file__).resolve().parents[1]
MCQ_SAMPLE = REPO / "tests" / "data" / "mcq"
# ko has vectors, zh has none: surgical runs for ko only. 10 rows: en reference, ko x
# (none, surgical) x (transfer, localization, localization-en), zh x none x the same three.
ARGS = ["--lang", "ko,zh", "--config", "none,surgical", "--limit", "1"]
ROWS = 13  # English transfer, then per (setting, language): transfer and three measures


def write_vectors(directory: Path, languages: list[str]) -> Path:
    """Random EN (middle band) and LOC (deep band) vectors made for the small test model."""
    spec = ModelSpec.from_metadata(model_metadata(resolve_model("gemma3-270m")))
    rng = np.random.default_rng(7)
    for language in languages:
        for role, band in (("en", (6, 10)), ("loc", (11, 15))):
            directions = {
                layer: rng.normal(size=spec.n_embd).astype(np.float32)
                for layer in range(1, spec.n_layer)
            }
            vector = SteeringVector(role, language, spec, directions, default_scale=4.0, band=band)
            vector_file.write(vector, directory / f"{language}-{role}.gguf")
    return directory


@pytest.fixture(scope="module")
def vectors(tmp_path_factory) -> Path:
    return write_vectors(tmp_path_factory.mktemp("vectors"), ["ko"])


def surgsteer(*args: str) -> list[str]:
    return [sys.executable, "-m", "surgsteer_cli", *map(str, args)]


def run_to_end(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(surgsteer(*args), cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done


def results(directory: Path) -> list[dict]:
    """The rows of a run, without the fields that time them."""
    lines = (directory / "results.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    return [{k: v for k, v in row.items() if k not in TIMING_FIELDS} for row in rows]


def by_key(rows: list[dict]) -> dict[tuple, dict]:
    keyed = {tuple(row[name] for name in KEY_FIELDS): row for row in rows}
    assert len(keyed) == len(rows), "duplicate rows"
    return keyed


def kill_after_first_rows(args: list[str], results_file: Path) -> int:
    """Start an eval, SIGKILL it once it has written a row; return the rows written then."""
    process = subprocess.Popen(surgsteer(*args), cwd=REPO, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and process.poll() is None:
            if results_file.exists() and results_file.read_bytes().count(b"\n") >= 1:
                break
            time.sleep(0.02)
        assert process.poll() is None, "the run ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    return results_file.read_bytes().count(b"\n")


def test_a_killed_run_resumes_to_the_rows_of_an_uninterrupted_run(
    tmp_path: Path, vectors: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SURGSTEER_SHIPPED_VECTORS", "")  # zh must have no vectors at all
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    done = run_to_end("eval", "--vectors", vectors, *ARGS, "--out", whole)
    assert "no en/loc vector for zh; skipping surgical there" in done.stderr
    expected = by_key(results(whole))
    assert len(expected) == ROWS
    assert {(k[1], k[2]) for k in expected} == {
        ("none", "en"),
        ("none", "ko"),
        ("surgical", "ko"),
        ("none", "zh"),
    }

    args = ["eval", "--vectors", vectors, *ARGS, "--out", resumed]
    written = kill_after_first_rows(args, resumed / "results.jsonl")
    assert 1 <= written < ROWS
    with (resumed / "results.jsonl").open("ab") as handle:
        handle.write(b'{"model": "gemma-3-270m-q4_k_m", "setting": "sur')  # torn by the kill
    done = run_to_end(*args)
    assert "dropped an incomplete last line" in done.stderr

    assert by_key(results(resumed)) == expected
    assert (resumed / "summary.csv").read_text() == (whole / "summary.csv").read_text()
    summaries = [json.loads((run / "summary.json").read_text()) for run in (resumed, whole)]
    assert summaries[0]["scores"] == summaries[1]["scores"]
    assert (resumed / "plane.png").stat().st_size > 10_000
    # Running the finished command again scores nothing and changes nothing.
    again = run_to_end(*args)
    assert "s/item" not in again.stderr
    assert by_key(results(resumed)) == expected


def test_multiple_choice_data_through_the_cli(tmp_path: Path) -> None:
    done = run_to_end(
        "eval",
        "--mcq",
        MCQ_SAMPLE,
        "--lang",
        "ko",
        "--config",
        "none",
        "--limit",
        "2",
        "--out",
        tmp_path,
    )
    rows = results(tmp_path)
    transfer = [row for row in rows if row["axis"] == "transfer"]
    assert len(transfer) == 2 and all(row["prediction"] in "ABCD" for row in transfer)
    assert len(rows) == 8  # 2 questions, 2 answers per Localization measure
    assert "no reference" in done.stderr


def test_swept_settings_keep_their_whole_names_in_the_table(vectors: Path, tmp_path: Path) -> None:
    done = run_to_end(
        "eval", "--vectors", vectors, "--lang", "ko", "--config", "loc-deep",
        "--loc-scale", "0.25,0.125", "--localization", "english", "--limit", "1",
        "--out", tmp_path,
    )  # fmt: skip
    table = done.stdout.split("model:")[0]  # the plot's legend below names them too
    assert "loc-deep(loc=0.25)" in table
    assert "loc-deep(loc=0.125)" in table


def invoke(*args: str):
    return CliRunner().invoke(main, list(map(str, args)))


def assert_one_line_error(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and message in last, last


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--config", "none,en-deep"], "unknown config en-deep; choose from none"),
        (["--lang", "ko,fr"], "cannot evaluate language(s) fr"),
        (["--en-scale", "1,x"], "scales must be numbers"),
        (["--model", "missing.gguf"], "model file not found: missing.gguf"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path: Path, args: list[str], message: str) -> None:
    assert_one_line_error(invoke("eval", *args, "--out", tmp_path), message)


def test_data_directory_in_the_wrong_format(tmp_path: Path) -> None:
    (tmp_path / "ko.tsv").write_text("Question\tAnswer\nx\ty\n", encoding="utf-8")
    result = invoke("eval", "--lang", "ko", "--bmlama", tmp_path, "--out", tmp_path / "run")
    assert_one_line_error(result, "missing column(s) Prompt, Ans, Candidate Ans")


def test_corrupt_results_file(tmp_path: Path) -> None:
    args = ["eval", "--lang", "ko", "--config", "none", "--limit", "1", "--out", tmp_path]
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "results.jsonl").write_text("{not json}\n", encoding="utf-8")
    assert_one_line_error(invoke(*args), "results.jsonl:1: corrupt results line")


def test_the_prompt_ceiling_gives_every_setting_its_share(vectors: Path, tmp_path: Path) -> None:
    done = run_to_end(
        "eval", "--vectors", vectors, "--lang", "ko", "--config", "none,prompt,surgical",
        "--localize", "vector,both", "--localization", "facts", "--limit", "2",
        "--out", tmp_path,
    )  # fmt: skip
    rows = results(tmp_path)
    assert {row["setting"] for row in rows} == {"none", "prompt", "surgical", "surgical[both]"}
    shares = json.loads((tmp_path / "summary.json").read_text())["ceiling"]
    assert {share["setting"] for share in shares} == {"none", "surgical", "surgical[both]"}
    assert all(share["metric"] == "localization-facts" for share in shares)
    assert "Against the ceiling" in done.stdout
    assert (tmp_path / "plane-facts.png").stat().st_size > 10_000
