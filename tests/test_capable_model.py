"""The claim on the default model, Qwen2.5-Coder-1.5B-Instruct: its shipped vectors were made by
the rule (bands from the layer analysis, scales capped by the held-out check), no direction is
dominated by massive-activation coordinates, and the headline question gets Korea's answer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from surgsteer_cli import vector_file
from surgsteer_cli.cpus import available_cpus
from surgsteer_cli.engine import Engine
from surgsteer_cli.evaluation.scoring import Scorer
from surgsteer_cli.evaluation.selection import LANGUAGES, load_eval_data
from surgsteer_cli.evaluation.transfer import letter_tokens, mcq_prompt, mcq_row
from surgsteer_cli.inspection import DOMINATED, top_share
from surgsteer_cli.models import DEFAULT_MODEL, NAMED_MODELS
from tests.cli import run_surgsteer

SHIPPED = Path(__file__).resolve().parents[1] / "vectors" / DEFAULT_MODEL


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_ships_checked_vectors_for_the_model(language: str) -> None:
    model = NAMED_MODELS[DEFAULT_MODEL]
    for role in ("en", "loc"):
        vector = vector_file.read(SHIPPED / f"{language}.{role}.gguf")
        assert vector.model.fingerprint == model.fingerprint
        assert "perplexity" in vector.scale_check and "still above" not in vector.scale_check
        shares = [top_share(vector.directions[layer]) for layer in vector.band_layers]
        assert max(shares) < DOMINATED, (role, shares)


def test_bands_come_from_the_layer_analysis() -> None:
    report = json.loads((SHIPPED / "layers.json").read_text(encoding="utf-8"))
    assert report["fingerprint"] == NAMED_MODELS[DEFAULT_MODEL].fingerprint
    assert tuple(report["en_band"]) in {tuple(band) for band in report["en_candidates"]}
    assert report["en_band"][1] < report["loc_band"][0]
    for language in LANGUAGES:
        en = vector_file.read(SHIPPED / f"{language}.en.gguf")
        loc = vector_file.read(SHIPPED / f"{language}.loc.gguf")
        assert list(en.band) == report["en_band"] and list(loc.band) == report["loc_band"]


KOREA = re.compile(r"\bKorean?\b|한국|대한민국", re.IGNORECASE)
KOREA_NUMBER = re.compile(r"(?<!\d)(112|119)(?!\d)")
ELSEWHERE = re.compile(r"\b(most|many|other|all|some) countries\b|\bEurope", re.IGNORECASE)


def gives_korea_s_number_for_korea(answer: str) -> bool:
    """Whether a sentence of ``answer`` gives 112 or 119 and names Korea, and none of those
    sentences is about other countries ("in most countries is 112" is not Korea's answer)."""
    sentences = [s for s in re.split(r"(?<=[.!?。])\s+|\n+", answer) if KOREA_NUMBER.search(s)]
    return any(KOREA.search(s) for s in sentences) and not any(
        ELSEWHERE.search(s) for s in sentences
    )


@pytest.mark.parametrize(
    ("answer", "korea_s"),
    [
        ("In South Korea, call 112 for the police and 119 for fire or an ambulance.", True),
        ("한국의 긴급 전화번호는 112(경찰)와 119(소방)입니다.", True),
        ("The emergency number in most countries is 112.", False),
        ("The emergency number is 112.", False),
        ("In Korea, dial 911.", False),
        ("Korea's number is 1120.", False),
    ],
)
def test_the_headline_check_wants_korea_s_number_for_korea(answer: str, korea_s: bool) -> None:
    assert gives_korea_s_number_for_korea(answer) is korea_s


@pytest.mark.parametrize(("localize", "roles"), [("prompt", {"en"}), ("vector", {"en", "loc"})])
def test_headline_korean_profile_gives_korea_s_emergency_number(
    capable_model_path: Path, localize: str, roles: set[str]
) -> None:
    """`surgsteer ask --lang ko "emergency number?"`: Korea's number (112 police, 119 fire and
    ambulance) given as Korea's, by the default (the country in a system line) and by the LOC
    vector alone; a generic "112 in most countries" fails."""
    args = ("ask", "--model", str(capable_model_path), "--lang", "ko", "--max-tokens", "40")
    steered = run_surgsteer(
        *args, "--localize", localize, "--json", "emergency number?", timeout=300
    )
    assert steered.returncode == 0, steered.stderr
    record = json.loads(steered.stdout)
    assert record["profile"] == "ko" and set(record["scales"]) == roles
    assert record["localize"] == localize
    assert ("The user is in South Korea." in record["prompt"]) == (localize == "prompt")
    assert gives_korea_s_number_for_korea(record["answer"]), record["answer"]


def test_letter_questions_put_the_probability_on_the_letters(capable_model_path: Path) -> None:
    """The Transfer score reads the answer letter's probability, so the model's next token
    after the prompt must be a letter: most of the mass on A-D, and the gold often first."""
    engine = Engine(capable_model_path, n_threads=available_cpus())
    scorer = Scorer(engine)
    letters = letter_tokens(scorer)
    items = load_eval_data(["ko"], split="tune", limit=12, transfer="mcq").transfer["en"]
    masses, right = [], 0
    for item in items:
        prompt = mcq_prompt(item, chat_template=engine.chat_template)
        logprobs = scorer.next_token_logprobs(prompt)
        masses.append(sum(float(np.exp(logprobs[tokens]).sum()) for tokens in letters))
        right += mcq_row(scorer, item)["correct"]
    assert float(np.mean(masses)) > 0.8, masses
    assert right > len(items) / 4, right  # above chance in English
