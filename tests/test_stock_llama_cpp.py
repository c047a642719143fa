"""Stock llama.cpp, through its own loader and sampler, applies the file from
``surgsteer vectors export`` exactly as ``surgsteer ask --lang L`` steers.

``llama-completion`` is built from the llama.cpp that the installed llama-cpp-python's sdist
vendors (``benchmarks/stock_llama_cpp.py``; cached; the first build took 9 minutes on two busy cores
here). Greedy decoding on the default test model: for every question the stock tool's
continuation with the exported file is the same text as surgsteer's (the same tokens), its
unsteered continuation is surgsteer's unsteered one, and the answers that steering changes in
surgsteer change in llama.cpp too. Last, the conversion of the stock ``llama-cvector-generator``'s
output into surgsteer's format (``benchmarks/cvgen_baseline.py``) on made-up directions.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from benchmarks.stock_llama_cpp import build, missing_tools
from benchmarks.stock_questions import MAX_TOKENS, QUESTIONS, same_answer
from surgsteer_cli.cli import main
from surgsteer_cli.engine import Engine
from surgsteer_cli.profiles import discover
from surgsteer_cli.prompting import STOP_BASE, qa_prompt
from surgsteer_cli.session import Session, SteeringRequest

THREADS = 1  # everywhere: greedy tokens do not depend on it; spinning threads crawl when busy
CASES = [(lang, question) for lang, questions in QUESTIONS.items() for question in questions]
END_OF_TEXT = " [end of text]\n"  # llama-completion's note when the model ends its text
OUTPUT_END = "\n\n"  # what llama-completion prints after the generated text


@pytest.fixture(scope="session")
def llama_completion() -> Path:
    """Stock ``llama-completion``, built once into the cache (skips only without the tools)."""
    missing = missing_tools()
    if missing:
        pytest.skip(f"cannot build stock llama.cpp: {' and '.join(missing)} not found on PATH")
    return build() / "llama-completion"


def stock_continuation(binary: Path, model: Path, prompt: str, *control: str) -> str:
    """The greedy continuation of ``prompt`` by stock llama.cpp, with surgsteer's context,
    batch, attention and thread settings (``control``: extra control-vector flags)."""
    done = subprocess.run(
        [
            str(binary),
            "--model",
            str(model),
            *control,
            "--prompt",
            prompt,
            "--n-predict",
            str(MAX_TOKENS),
            "--temp",
            "0",
            "--seed",
            "0",
            "--ctx-size",
            "2048",
            "--batch-size",
            "512",
            "--ubatch-size",
            "512",
            "--flash-attn",
            "off",
            "--threads",
            str(THREADS),
            "--no-conversation",
            "--no-display-prompt",
        ],
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.endswith(OUTPUT_END), done.stdout
    return done.stdout.removesuffix(OUTPUT_END).removesuffix(END_OF_TEXT)


def surgsteer_continuation(session: Session, question: str, language: str | None) -> str:
    """surgsteer's greedy continuation under ``ask``'s steering (None: unsteered), no stops."""
    request = SteeringRequest(language=language, steer=language is not None, localize="vector")
    steering = session.steering(question, request)
    session.engine.set_control(steering.control)
    return "".join(session.engine.generate(qa_prompt(question), max_tokens=MAX_TOKENS))


def answer_of(continuation: str) -> str:
    """What ``ask`` prints for a base model's continuation: up to the first stop, stripped."""
    cuts = [continuation.find(stop) for stop in STOP_BASE if stop in continuation]
    return continuation[: min(cuts, default=len(continuation))].strip()


def ask(model: Path, question: str, *options: str) -> dict:
    """The ``--json`` record of ``surgsteer ask`` (one thread, like the stock runs)."""
    result = CliRunner().invoke(
        main,
        [
            "ask",
            "--model",
            str(model),
            "--threads",
            str(THREADS),
            "--json",
            "--max-tokens",
            str(MAX_TOKENS),
            *options,
            question,
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_same_answer(stock_answer: str, record: dict) -> None:
    assert same_answer(stock_answer, record), (stock_answer, record)


def export(model: Path, out: Path, *options: str) -> Path:
    result = CliRunner().invoke(
        main, ["vectors", "export", "--model", str(model), "--out", str(out), *options]
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def session(model_path: Path) -> Session:
    """The small test model on one thread with the profiles ``ask`` finds for it."""
    engine = Engine(model_path, n_threads=THREADS)
    return Session(engine, discover(engine.spec))


def test_stock_llama_cpp_with_the_export_answers_token_for_token_like_ask(
    llama_completion: Path, session: Session, model_path: Path, tmp_path: Path
) -> None:
    files = {
        lang: export(model_path, tmp_path / f"{lang}.gguf", "--lang", lang) for lang in QUESTIONS
    }
    changed = []
    for lang, question in CASES:
        prompt = str(qa_prompt(question))
        ours = surgsteer_continuation(session, question, lang)
        ours_plain = surgsteer_continuation(session, question, None)
        stock = stock_continuation(
            llama_completion, model_path, prompt, "--control-vector", str(files[lang])
        )
        stock_plain = stock_continuation(llama_completion, model_path, prompt)
        assert stock == ours, (lang, question)
        assert stock_plain == ours_plain, (lang, question)
        # the export bakes both vectors on every token: ask does that with --localize vector
        asked = ask(model_path, question, "--lang", lang, "--localize", "vector")
        assert_same_answer(answer_of(stock), asked)
        if ours != ours_plain:
            changed.append(question)
            assert stock != stock_plain
    assert len(changed) >= len(QUESTIONS), f"steering changed too few answers: {changed}"


def test_scales_given_to_export_are_baked_like_asks(
    llama_completion: Path, model_path: Path, tmp_path: Path
) -> None:
    scales = ("--en-scale", "0.02", "--loc-scale", "0.005")
    path = export(model_path, tmp_path / "ko.gguf", "--lang", "ko", *scales)
    question = QUESTIONS["ko"][0]
    stock = stock_continuation(
        llama_completion, model_path, str(qa_prompt(question)), "--control-vector", str(path)
    )
    asked = ask(model_path, question, "--lang", "ko", "--localize", "vector", *scales)
    assert_same_answer(answer_of(stock), asked)


def test_cvgen_conversion_moves_block_n_plus_1_to_n_keeps_norms_and_orients_pca(
    make_vector,
) -> None:
    from benchmarks.cvgen_baseline import convert

    shipped = make_vector("en", "ko", range(1, 18), norm=7.0, scale=0.01, band=(5, 10))
    rng = np.random.default_rng(0)
    raw = {n: rng.standard_normal(shipped.model.n_embd).astype(np.float32) for n in range(1, 18)}
    toward = {n: -direction for n, direction in raw.items()}  # every PCA axis points away
    for method, orient, sign in (("mean", None, 1), ("pca", toward, -1)):
        vector = convert(raw, shipped, method, orient)
        assert vector.layers == list(range(1, 17))  # the generator has no block 17
        assert (vector.band, vector.default_scale) == ((5, 10), 0.01)
        for block in vector.layers:
            unit = raw[block + 1] / np.linalg.norm(raw[block + 1])
            np.testing.assert_allclose(vector.directions[block], sign * 7.0 * unit, rtol=1e-5)


def test_cvgen_planes_add_each_generator_set_as_its_own_surgical_setting(tmp_path: Path) -> None:
    from benchmarks.cvgen_verdict import draw_planes, plane_rows

    def row(setting: str, language: str, axis: str) -> dict:
        return {
            "model": "m",
            "setting": setting,
            "language": language,
            "axis": axis,
            "item": f"{axis}-{language}",
            "scales": {},
            "prediction": "A",
            "correct": True,
        }

    runs = {}
    for name, settings in (
        ("surgsteer", ("none", "surgical")),
        ("cvgen-pca", ("none", "surgical")),
        ("cvgen-mean", ("surgical",)),
    ):
        lines = [
            row(setting, language, axis)
            for setting in settings
            for language in ("ko", "zh")
            for axis in ("transfer", "localization", "localization-en")
        ]
        runs[name] = tmp_path / f"{name}.jsonl"
        runs[name].write_text("".join(json.dumps(line) + "\n" for line in lines))

    combined = plane_rows(runs, ["ko"])
    assert {(r["setting"], r["language"]) for r in combined} == {
        ("none", "ko"),
        ("surgical", "ko"),
        ("surgical-cvgen-pca", "ko"),
        ("surgical-cvgen-mean", "ko"),
    }  # zh left out, and only the generator sets' surgical rows, renamed
    assert len(combined) == 4 * 3
    written = draw_planes(runs, ["ko"], tmp_path / "plane")
    assert [p.name for p in written] == ["plane.png", "plane-en.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written)
