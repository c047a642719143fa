"""Numbers and answers at the edges: scales and thread counts are checked where they come in
(NaN never reaches a control vector, a result row or JSON), the thread default leaves busy
CPUs alone, an answer that loops is cut and ``ask --json`` says why it ended and how it was
made, and ``--lang`` with a language surgsteer has no profile for answers unsteered."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from surgsteer_cli import __version__, cpus
from surgsteer_cli.cli import main
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.evaluation.results import ResultStore
from surgsteer_cli.profiles import Profile
from surgsteer_cli.repl import Chat
from surgsteer_cli.session import AnswerOptions, Session, repeats_itself
from surgsteer_cli.steering import profile_buffer
from tests.test_chat import Recorder

ENGLISH = "What is the capital of France?"
LOOPING = "¿Cuál es el número de emergencia en España?"  # issue 17: "1" two hundred times


def invoke(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    result = CliRunner().invoke(main, [str(arg) for arg in args], env=env, input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def refused(result: Result, fragment: str) -> None:
    assert result.exit_code in (1, 2), result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: ") and fragment in last, last


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e38", "10.5", "-11"])
@pytest.mark.parametrize("option", ["--en-scale", "--loc-scale"])
def test_ask_refuses_scales_that_are_not_finite_or_out_of_range(option: str, value: str) -> None:
    refused(invoke("ask", option, value, ENGLISH), "is not a number from -10 to 10")


@pytest.mark.parametrize("value", ["nan", "inf", "1e38"])
def test_eval_refuses_such_scales_in_a_sweep(tmp_path: Path, value: str) -> None:
    result = invoke("eval", "--en-scale", f"0,{value}", "--out", tmp_path)
    refused(result, "is not a number from -10 to 10")


def test_chat_refuses_them_and_goes_on(engine) -> None:
    view = Recorder()
    chat = Chat(Session(engine, {}), view, AnswerOptions(max_tokens=2))
    for line in ("/scale en nan", "/scale loc inf", "/scale en 1e38"):
        assert chat.handle(line)
    assert view.messages.count("is not a number from -10 to 10") == 3
    assert (chat.options.request.en_scale, chat.options.request.loc_scale) == (None, None)


def test_nan_never_reaches_a_control_vector(engine, make_vector) -> None:
    profile = Profile("ko", loc=make_vector("loc", "ko", [12]))
    with pytest.raises(SurgsteerError, match="not a finite number"):
        profile_buffer(profile, engine.spec, loc_scale=float("nan"))


def test_nan_never_reaches_a_result_row(tmp_path: Path) -> None:
    row = {"model": "m", "setting": "surgical", "language": "ko", "axis": "localization"}
    with ResultStore(tmp_path, {"format": 1}) as store:
        with pytest.raises(SurgsteerError, match="finite numbers"):
            store.add({**row, "item": "1", "correct": True, "scales": {"en": float("nan")}})
        assert store.rows == {}
    assert (tmp_path / "results.jsonl").read_text() == ""


MODEL_COMMANDS = {
    "ask": [ENGLISH],
    "chat": [],
    "doctor": [],
    "serve": [],
    "eval": [],
    "extract": ["--lang", "ko"],
    "layers": [],
    "quantize": ["--type", "Q8_0"],
}
"""Every command that loads a model, with the arguments it needs to get that far."""


@pytest.mark.parametrize("command", MODEL_COMMANDS)
def test_thread_counts_beyond_the_machine_are_refused(command: str, tmp_path: Path) -> None:
    args = [command, *MODEL_COMMANDS[command]]
    from_env = invoke(*args, env={"SURGSTEER_THREADS": "100000"})
    refused(from_env, "(env var: 'SURGSTEER_THREADS'): 100000 is not in the range")
    refused(invoke(*args, "--threads", "0"), "0 is not in the range 1<=x<=")


@pytest.fixture
def busy_core() -> Iterator[None]:
    """A pure-Python busy loop on one core for the duration of the test."""
    loop = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.3)
    try:
        yield
    finally:
        loop.kill()
        loop.wait()


@pytest.mark.skipif(cpus.allowed_cpus() < 2, reason="needs two CPUs")
@pytest.mark.usefixtures("busy_core")
def test_the_default_thread_count_leaves_a_busy_core_alone() -> None:
    assert cpus.busy_cpus() >= 1
    assert cpus.available_cpus() <= cpus.allowed_cpus() - 1


@pytest.mark.parametrize(
    ("text", "loops"),
    [
        ("1" * 60, True),
        ("The number is " + "1" * 59, False),
        ("Korea " * 10, True),
        ("It is 112. " * 6, True),
        ("It is 112. " * 3, False),
        ("1-1-2, 1-1-9, 1-1-0 and 9-1-1 are emergency numbers.", False),
    ],
)
def test_a_loop_is_a_unit_repeated_over_sixty_characters(text: str, loops: bool) -> None:
    assert repeats_itself(text) is loops


class FakeCompletion:
    """What ``Engine.generate`` returns: pieces, then a finish reason."""

    def __init__(self, pieces: list[str], finish_reason: str) -> None:
        self.pieces = pieces
        self.read = 0
        self.finish_reason = finish_reason

    def __iter__(self) -> Iterator[str]:
        for piece in self.pieces:
            self.read += 1
            yield piece


def test_an_answer_that_loops_is_cut_with_finish_reason_repetition() -> None:
    from surgsteer_cli.session import Answer

    looping = FakeCompletion([" 1"] + ["1"] * 199, "length")
    answer = Answer(looping)
    assert "".join(answer) == "1" * 60 and answer.finish_reason == "repetition"
    assert looping.read == 60  # generation stopped there
    normal = Answer(FakeCompletion([" Paris", "."], "stop"))
    assert "".join(normal) == "Paris." and normal.finish_reason == "stop"


@pytest.mark.usefixtures("cached_engine")
class TestAskJson:
    def record(self, *args: str) -> dict:
        result = invoke("ask", "--json", *args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def test_reports_how_the_answer_was_made(self, ko_profile: Path, cached_engine) -> None:
        args = ["--vectors", ko_profile, "--lang", "ko", "--max-tokens", "3", "--seed", "5"]
        record = self.record(*args, LOOPING)
        assert record["finish_reason"] == "length" and record["version"] == __version__
        session = Session(cached_engine, {})
        assert record["system"] == "The user is in South Korea."  # the default --localize
        assert record["prompt"] == str(session.prompt(LOOPING, system=record["system"]))
        files = [str(ko_profile / name) for name in ("ko.en.gguf", "ko.loc.gguf")]
        assert record["vector_files"] == files
        sampling = record["sampling"]
        assert (sampling["max_tokens"], sampling["temperature"], sampling["seed"]) == (3, 0.0, 5)
        assert sampling["repeat_penalty"] == 1.0
        assert sampling["stop"] == list(session.stop_sequences)

    def test_a_degenerate_answer_stops_early(self) -> None:
        # the shipped es vectors without the system line: the answer that loops on this model
        record = self.record("--max-tokens", "200", "--localize", "vector", LOOPING)
        assert record["finish_reason"] == "repetition"
        assert record["timings"]["decoded_tokens"] < 100

    def test_an_answer_that_ends_reports_stop(self) -> None:
        assert self.record("--max-tokens", "64", ENGLISH)["finish_reason"] == "stop"

    def test_a_language_without_a_profile_is_answered_unsteered(self, ko_profile) -> None:
        record = self.record("--vectors", ko_profile, "--max-tokens", "2", "--lang", "fr", ENGLISH)
        assert (record["language"], record["profile"], record["scales"]) == ("fr", None, {})
        assert "no fr profile" in record["note"]
        header = invoke("ask", "--max-tokens", "2", "--lang", "FR", ENGLISH).stderr
        assert "profile  none (no fr profile for this model: unsteered)" in header
        for garbage in ("x y", "french", "f1"):  # still not language codes
            refused(invoke("ask", "--lang", garbage, ENGLISH), "unknown language")
