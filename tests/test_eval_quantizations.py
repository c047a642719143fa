"""``surgsteer eval`` over several files of one model: ``--model`` lists and globs, ``--quantize``
(from a quantized Gemma 3 270M and from a tiny synthetic F16 original), one run directory whose
summary, plane and tables cover every file, and kills that lose and duplicate nothing."""

from __future__ import annotations

import json
import random
import signal
from pathlib import Path

import gguf
import numpy as np
import pytest

from benchmarks.interrupt_runs import EVAL_TIMINGS, Job, eval_job, requantize, run_job
from surgsteer_cli import vector_file
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.evaluation.quantizations import ModelFile, compare, describe, model_files, tables
from surgsteer_cli.evaluation.summary import summarize
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.models import model_metadata, resolve_model
from surgsteer_cli.vector_file import SteeringVector
from tests.cli import run_surgsteer
from tests.data_copies import ROW_OFFSET, renamed_blend_copy, renumbered_bmlama_copy
from tests.test_eval_cli import write_vectors
from tests.tiny_gguf import write_tiny_f16

EVAL = ["--lang", "ko", "--config", "none,surgical", "--limit", "2"]
TIMEOUT_S = 900  # a shared machine can be slow


@pytest.fixture(scope="module")
def gemma_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The shipped Gemma 3 270M (Q4_K_M) and a Q4_0 of it (llama.cpp, straight), in one folder,
    and Korean vectors for them."""
    folder = tmp_path_factory.mktemp("gemma")
    source = resolve_model("gemma3-270m")
    (folder / "models").mkdir()
    (folder / "models" / source.name).symlink_to(source)
    requantize(source, folder / "models" / "gemma-3-270m-Q4_0.gguf", "Q4_0")
    return folder / "models", write_vectors(folder / "vectors", ["ko"])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tiny F16 model and Korean EN and LOC vectors for its block 1."""
    folder = tmp_path_factory.mktemp("tiny")
    model = write_tiny_f16(folder / "tiny-F16.gguf")
    spec = ModelSpec.from_metadata(model_metadata(model))
    rng = np.random.default_rng(3)
    for role in ("en", "loc"):
        directions = {1: rng.normal(0, 0.5, spec.n_embd).astype(np.float32)}
        vector = SteeringVector(role, "ko", spec, directions, band=(1, 1))
        vector_file.write(vector, folder / "vectors" / f"ko-{role}.gguf")
    return model, folder / "vectors"


def read_rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "results.jsonl").read_text("utf-8").splitlines()]


def test_model_values_are_lists_and_globs(tmp_path: Path) -> None:
    paths = []
    for name in ("b-Q4_0.gguf", "a-Q8_0.gguf", "c.txt"):
        (tmp_path / name).write_bytes(b"GGUF" + bytes(8))
        paths.append(tmp_path / name)
    found = model_files([f"{tmp_path}/*.gguf", f"{paths[0]}, {paths[2]}"])
    assert found == [paths[1], paths[0], paths[2]]  # glob sorted, repeats dropped
    with pytest.raises(SurgsteerError, match="no model file matches .*nothing-\\*.gguf"):
        model_files([f"{tmp_path}/nothing-*.gguf"])
    literal = tmp_path / "[x]*.gguf"  # an existing file whose name reads as a glob
    literal.write_bytes(b"GGUF" + bytes(8))
    assert model_files([str(literal)]) == [literal]


def test_a_glob_matching_nothing_is_one_error_line(tmp_path: Path) -> None:
    done = run_surgsteer("eval", "--model", f"{tmp_path}/*.gguf", "--out", str(tmp_path / "run"))
    assert done.returncode == 1
    assert done.stderr.strip() == f"Error: no model file matches {tmp_path}/*.gguf"


def test_one_run_covers_both_gemma_files_on_data_never_seen(
    gemma_pair: tuple[Path, Path], shared_data: Path, tmp_path: Path
) -> None:
    """The run reads BLEnD and BMLAMA copies whose IDs and rows the project never listed, as
    it would the held-out halves."""
    models, vectors = gemma_pair
    blend = renamed_blend_copy(shared_data, tmp_path / "blend", lambda key: f"unseen-{key}")
    bmlama = renumbered_bmlama_copy(shared_data, tmp_path / "bmlama", ["en", "ko"])
    run = tmp_path / "run"
    args = ["eval", "--model", f"{models}/*.gguf", "--vectors", str(vectors)]
    data = ["--blend", str(blend), "--bmlama", str(bmlama)]
    done = run_surgsteer(*args, *EVAL, *data, "--out", str(run), timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    names = {"gemma-3-270m-Q4_0", "gemma-3-270m-q4_k_m"}
    rows = read_rows(run)
    assert {row["model"] for row in rows if row["setting"] == "surgical"} == names
    for row in rows:
        if row["axis"] == "transfer":
            assert int(row["item"].removeprefix("mcq:")) >= ROW_OFFSET  # the copy's rows
        elif row["axis"] in ("localization", "localization-en"):
            assert row["item"].startswith("unseen-")
    assert all(row["seconds"] > 0 for row in rows)
    summary = json.loads((run / "summary.json").read_text("utf-8"))
    assert {score["model"] for score in summary["scores"]} == names
    described = json.loads((run / "models.json").read_text("utf-8"))
    assert {d["quantization"] for d in described.values()} == {"Q4_0", "Q4_K_M"}
    for name, entry in described.items():
        path = Path(entry["path"])
        assert path.stem == name and entry["bytes"] == path.stat().st_size
        assert entry["bits_per_weight"] * entry["weights"] / 8 < entry["bytes"]  # tensors only
    report = json.loads((run / "quantizations.json").read_text("utf-8"))
    bits = [file["bits_per_weight"] for file in report["files"]]
    assert bits[0] > bits[1]  # most bits first; Gemma keeps its large embedding in Q8_0/Q6_K
    for file in report["files"]:
        assert file["items_per_s"] > 0 and file["decode_tokens_per_s"] > 0
        difference = file["surgical - none"]["localization"]
        assert difference["n"] == 2 and difference["low"] <= difference["mean"]
        assert difference["mean"] <= difference["high"]
    assert {(p["model"], p["setting"]) for p in report["points"]} == {
        (name, setting) for name in names for setting in ("none", "surgical")
    }
    table = (run / "quantizations.md").read_text("utf-8")
    assert "| Q4_K_M | surgical |" in table and "| Q4_0 | none |" in table
    for picture in ("plane.png", "plane-en.png", "quantizations.png"):
        assert (run / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_quantize_from_an_f16_original(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    """No dequantization, one vector set for all three files, and a second run reuses the
    quantized files and every row."""
    model, vectors = tiny
    run = tmp_path / "run"
    args = ["eval", "--model", str(model), "--quantize", "Q8_0,Q4_0", "--vectors", str(vectors)]
    done = run_surgsteer(*args, *EVAL, "--out", str(run), timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert "dequantizing" not in done.stderr
    made = sorted(path.name for path in (run / "models").iterdir())
    assert made == ["tiny-Q4_0.gguf", "tiny-Q8_0.gguf"]
    rows = read_rows(run)
    assert {row["model"] for row in rows if row["setting"] == "surgical"} == {
        "tiny-F16",
        "tiny-Q8_0",
        "tiny-Q4_0",
    }
    described = json.loads((run / "models.json").read_text("utf-8"))
    assert {name: d["quantization"] for name, d in described.items()} == {
        "tiny-F16": "F16",
        "tiny-Q8_0": "Q8_0",
        "tiny-Q4_0": "Q4_0",
    }
    for name, entry in described.items():
        reader = gguf.GGUFReader(run / entry["path"])  # gguf-py's count, for a tiny vocabulary
        weights = sum(int(t.n_elements) for t in reader.tensors)
        bits = 8 * sum(int(t.n_bytes) for t in reader.tensors) / weights
        assert (entry["weights"], entry["bits_per_weight"]) == (weights, round(bits, 3)), name
    assert described["tiny-Q8_0"]["path"] == "models/tiny-Q8_0.gguf"
    assert described["tiny-F16"]["path"] == str(model.resolve())
    stamps = {path: path.stat().st_mtime_ns for path in (run / "models").iterdir()}
    again = run_surgsteer(*args, *EVAL, "--out", str(run), timeout=TIMEOUT_S)
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("keeping ") == 2 and "quantizing to" not in again.stderr
    assert {path: path.stat().st_mtime_ns for path in (run / "models").iterdir()} == stamps
    assert read_rows(run) == rows


def test_paired_differences_use_shared_items_and_leave_english_out() -> None:
    rows = []
    for language in ("ko", "es"):
        for index in range(10):
            item = f"q{index}"
            rows.append(_row("m", "surgical", language, "localization", item, True))
            rows.append(_row("m", "none", language, "localization", item, index % 2 == 0))
        rows.append(_row("m", "none", language, "localization", "only-none", False))
    rows += [_row("m", s, "ko", "transfer", "f1", True) for s in ("none", "surgical")]
    rows.append(_row("m", "none", "en", "transfer", "f1", False))  # the reference: left out
    file = ModelFile("m", "m.gguf", "Q4_0", 1000, 4.5, 1600)
    report = compare(summarize(rows), rows, [file])
    [entry] = report["files"]
    localization = entry["surgical - none"]["localization"]
    assert localization["mean"] == pytest.approx(0.5) and localization["n"] == 20
    assert 0 < localization["low"] < 0.5 < localization["high"] <= 1
    assert entry["surgical - none"]["transfer"] == {"mean": 0.0, "low": 0.0, "high": 0.0, "n": 1}
    assert entry["vs m (none)"]["localization"]["mean"] == 0.0  # the best file against itself
    assert entry["items_per_s"] is None  # these rows record no time


def _row(model: str, setting: str, language: str, axis: str, item: str, correct: bool) -> dict:
    row = {"model": model, "setting": setting, "language": language, "axis": axis}
    row |= {"item": item, "correct": correct, "scales": {}}
    return row | ({"choice": 0 if correct else 1} if axis == "transfer" else {"prediction": ""})


def test_describe_reads_the_type_and_bits_of_the_shipped_gemma(tmp_path: Path) -> None:
    source = resolve_model("gemma3-270m")
    file = describe(source, source.stem, tmp_path / "run")
    assert file.quantization == "Q4_K_M" and file.path == str(source.resolve())
    # Q4_K_M by name, but Gemma's 168M-row token embedding is Q8_0 (8.5 bits): 7.36 over all
    assert 7.0 < file.bits_per_weight < 7.7 and 2.5e8 < file.weights < 3e8


@pytest.mark.parametrize("signals", [(signal.SIGINT,), (signal.SIGKILL,)])
def test_two_gemma_files_resume_after_kills(tmp_path: Path, signals: tuple[int, ...]) -> None:
    job = eval_job(limit=1, quantized="Q4_0")
    tally = run_job(job, tmp_path, 1, random.Random(1), signals, (0.2, 0.8), stops=(2,))
    assert tally.clean, "\n".join([tally.line(job.name), *tally.problems])
    assert tally.stops[signal.Signals(signals[0]).name] >= 1, tally.line(job.name)


def test_quantize_in_eval_resumes_after_kills(tmp_path: Path, tiny: tuple[Path, Path]) -> None:
    """Stops land in the quantization as well as in the scoring: the models folder is part of
    the run directory, compared file by file."""
    model, vectors = tiny

    def args(out: Path, shared: Path) -> list[str]:
        options = ["--model", str(model), "--quantize", "Q8_0,Q4_0", "--vectors", str(vectors)]
        return ["eval", *options, *EVAL, "--out", str(out)]

    job = Job(
        "eval-quantize",
        args,
        logs=("results.jsonl",),
        keys=("model", "setting", "language", "axis", "item"),
        volatile=EVAL_TIMINGS,
        timed=("quantizations.md",),
    )
    tally = run_job(job, tmp_path, 2, random.Random(2), window=(0.05, 0.9), stops=(2,))
    assert tally.clean, "\n".join([tally.line(job.name), *tally.problems])
    assert sum(tally.stops.values()) >= 2, tally.line(job.name)


def test_file_names_in_the_tables_are_escaped() -> None:
    hostile = "q|4\x1b[31m\nx"
    rows = [_row(hostile, s, "ko", "localization", "a", s == "none") for s in ("none", "surgical")]
    rows += [_row(hostile, s, "ko", "transfer", "f", True) for s in ("none", "surgical")]
    file = ModelFile(hostile, "q.gguf", "Q4_0", 1000, 4.5, 1600)
    text = tables(compare(summarize(rows), rows, [file]), ["ko"])
    assert "\x1b" not in text and "| q\\|4\\\\x1b[31m\\\\nx | Q4_0 |" in text
    assert len(text.splitlines()) == 10  # no row broken by the name's line end
