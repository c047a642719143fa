"""``surgsteer ask`` end to end on the small test model (Gemma 3 270M)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from surgsteer_cli import session, vector_file
from surgsteer_cli.cli import main
from surgsteer_cli.errors import SurgsteerError

KOREAN = "대한민국의 긴급 전화번호는 무엇인가요?"
ENGLISH = "What is the capital of France?"
FRENCH = "Quel est le plat le plus populaire en France ?"


@pytest.fixture
def ko_vectors(make_vector, tmp_path: Path) -> Path:
    """A Korean profile: EN at blocks 5-8 (band 5-6, scale 4), LOC at 12-13 (scale 2)."""
    directory = tmp_path / "vectors"
    vector_file.write(
        make_vector("en", "ko", [5, 6, 7, 8], scale=4.0, band=(5, 6), seed=1),
        directory / "ko.en.gguf",
    )
    vector_file.write(
        make_vector("loc", "ko", [12, 13], scale=2.0, seed=2), directory / "ko.loc.gguf"
    )
    return directory


def ask(*args: str, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(main, ["ask", "--max-tokens", "3", *args], input=stdin)


def ask_json(*args: str) -> dict:
    result = ask("--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_one_line_error(result: Result, fragment: str) -> None:
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    assert fragment in lines[0]


@pytest.mark.usefixtures("cached_engine")
class TestAnswers:
    def test_streams_the_answer_with_a_header_on_stderr(self, ko_vectors, cached_engine) -> None:
        result = ask("--vectors", str(ko_vectors), KOREAN)
        assert result.exit_code == 0, result.output
        assert result.stdout.strip()
        assert "ko Korean (detected, confidence 1.00)" in result.stderr
        assert "ko: EN x4 @ blocks 5-6, country in the system line" in result.stderr
        assert f"gemma3, 18 blocks) on {cached_engine.backend}" in result.stderr
        vector = ask(
            "--vectors", str(ko_vectors), "--localize", "vector", "--loc-at", "prompt", KOREAN
        )
        assert "ko: EN x4 @ blocks 5-6, LOC x2 @ blocks 12-13 on the prompt" in vector.stderr

    def test_json_has_answer_steering_and_timings(self, ko_vectors: Path) -> None:
        record = ask_json("--vectors", str(ko_vectors), KOREAN)
        assert isinstance(record["answer"], str)
        assert record["language"] == "ko"
        assert record["language_source"] == "detected"
        assert record["confidence"] == 1.0
        assert record["profile"] == "ko"
        assert record["localize"] == "prompt"
        assert record["system"] == "The user is in South Korea."
        assert "The user is in South Korea." in record["prompt"]
        assert record["scales"] == {"en": 4.0}
        assert record["layers"] == {"en": [5, 6]}
        assert record["placements"] == {"en": "all"}
        timings = record["timings"]
        assert timings["prompt_tokens"] > 5
        assert timings["decoded_tokens"] <= 2  # the last of 3 tokens is sampled, not decoded
        assert timings["total_s"] >= timings["first_token_s"] > 0

    def test_lang_selects_the_profile_for_a_question_in_another_language(
        self, ko_vectors: Path
    ) -> None:
        record = ask_json(
            "--vectors", str(ko_vectors), "--lang", "ko", "--localize", "both",
            "--loc-scale", "0.5", ENGLISH,
        )  # fmt: skip
        assert (record["profile"], record["language_source"]) == ("ko", "--lang")
        assert record["confidence"] is None
        assert record["scales"] == {"en": 4.0, "loc": 0.5}
        assert record["system"] == "The user is in South Korea."

    @pytest.mark.parametrize(
        ("args", "language", "note"),
        [
            ([ENGLISH], "en", "English needs no steering"),
            ([FRENCH], None, "language unknown or unsure"),
            (["--lang", "am", ENGLISH], "am", "no am profile for this model"),
            (["--no-steer", KOREAN], "ko", "steering is off"),
        ],
    )
    def test_unsteered_answers_say_why(self, ko_vectors: Path, args, language, note) -> None:
        record = ask_json("--vectors", str(ko_vectors), *args)
        assert (record["language"], record["profile"], record["scales"]) == (language, None, {})
        assert note in record["note"]
        assert record["answer"]

    def test_steering_changes_the_answer_and_no_steer_matches_no_vectors(
        self, make_vector, tmp_path: Path
    ) -> None:
        strong = tmp_path / "strong"
        vector_file.write(make_vector("loc", "ko", [3, 4, 5], norm=300.0), strong / "ko.gguf")
        plain = ask_json(KOREAN)["answer"]
        assert ask_json("--vectors", str(strong), "--no-steer", KOREAN)["answer"] == plain
        steered = ask_json("--vectors", str(strong), "--localize", "vector", KOREAN)
        assert steered["system"] is None and steered["answer"] != plain

    def test_the_answer_ends_before_the_model_starts_another_turn(self) -> None:
        """A base model goes on with the Q/A transcript ("\\nA: 1-800-...\\nA: ..."); the
        answer is only the first one."""
        result = ask("--json", "--max-tokens", "40", "--lang", "ko", "emergency number?")
        assert result.exit_code == 0, result.output
        answer = json.loads(result.stdout)["answer"]
        assert answer
        assert not [line for line in answer.splitlines() if line.startswith(("Q:", "A:"))]

    def test_question_from_stdin(self) -> None:
        result = ask("--json", "-", stdin=f"  {KOREAN}\n".encode())
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["language"] == "ko"


class TestErrors:
    @pytest.mark.parametrize("question", ["", "   \n\t "])
    def test_empty_question(self, question: str) -> None:
        assert_one_line_error(ask(question), "the question is empty")

    def test_invalid_utf8_on_stdin(self) -> None:
        result = ask("-", stdin=b"What is \xff\xfe this?")
        assert_one_line_error(result, "stdin is not valid UTF-8 (byte 0xff at offset 8)")

    @pytest.mark.usefixtures("cached_engine")
    def test_question_longer_than_the_context(self) -> None:
        assert_one_line_error(ask("word " * 3000), "the context holds 2048")

    @pytest.mark.usefixtures("cached_engine")
    def test_unknown_lang_lists_the_valid_ones(self) -> None:
        result = ask("--lang", "klingon", ENGLISH)
        assert_one_line_error(result, "unknown language 'klingon'; valid: am, ar, as, az")

    def test_missing_model(self, tmp_path: Path) -> None:
        missing = tmp_path / "nope.gguf"
        assert_one_line_error(ask("--model", str(missing), ENGLISH), "model file not found")

    def test_model_that_is_not_gguf(self, tmp_path: Path) -> None:
        model = tmp_path / "model.gguf"
        model.write_text("hello")
        assert_one_line_error(ask("--model", str(model), ENGLISH), "is not a GGUF model file")

    def test_corrupt_model(self, tmp_path: Path, model_path: Path) -> None:
        model = tmp_path / "truncated.gguf"
        model.write_bytes(model_path.read_bytes()[:100_000])
        assert_one_line_error(ask("--model", str(model), ENGLISH), "cannot load model")

    def test_model_from_environment(self, tmp_path: Path, monkeypatch) -> None:
        monkeypatch.setenv("SURGSTEER_MODEL", str(tmp_path / "env.gguf"))
        assert_one_line_error(ask(ENGLISH), "env.gguf")

    @pytest.mark.usefixtures("cached_engine")
    def test_missing_vector_dir(self, tmp_path: Path) -> None:
        result = ask("--vectors", str(tmp_path / "none"), ENGLISH)
        assert_one_line_error(result, "no such vector file or directory")

    @pytest.mark.usefixtures("cached_engine")
    def test_corrupt_vector_file(self, ko_vectors: Path) -> None:
        path = ko_vectors / "ko.loc.gguf"
        path.write_bytes(path.read_bytes()[:-100])
        assert_one_line_error(ask("--vectors", str(ko_vectors), ENGLISH), "ko.loc.gguf")

    @pytest.mark.usefixtures("cached_engine")
    def test_vector_for_another_model(self, make_vector, small_engine, tmp_path: Path) -> None:
        spec = dataclasses.replace(small_engine.spec, n_embd=1024)
        vector = make_vector("loc", "ko", [3], spec=spec)
        path = vector_file.write(vector, tmp_path / "ko.gguf")
        assert_one_line_error(
            ask("--vectors", str(path), KOREAN), "n_embd is 1024 in the vector but 640"
        )


def test_model_options_come_from_the_environment(monkeypatch, tmp_path: Path) -> None:
    seen = []

    def load_engine(options: session.RuntimeOptions) -> None:
        seen.append(options)
        raise SurgsteerError("not loading")

    monkeypatch.setattr(session, "load_engine", load_engine)
    monkeypatch.setenv("SURGSTEER_MODEL", "/models/m.gguf")
    monkeypatch.setenv("SURGSTEER_GPU_LAYERS", "7")
    monkeypatch.setenv("SURGSTEER_THREADS", "1")
    assert_one_line_error(ask("--vectors", str(tmp_path), ENGLISH), "not loading")
    assert seen == [
        session.RuntimeOptions(model="/models/m.gguf", gpu_layers=7, threads=1, vectors=(tmp_path,))
    ]
