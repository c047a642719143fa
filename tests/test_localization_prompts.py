"""How Localization asks a question: BLEnD's instruction inside a chat model's template, in the
language of the question (native) or in English (english); base models get the Q/A transcript."""

from __future__ import annotations

import pytest

from surgsteer_cli.datasets.blend import load_blend, load_instructions
from surgsteer_cli.evaluation.localization import AXES, MEASURES, localization_prompt

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}<|im_start|>assistant\n"
)


@pytest.fixture(scope="module")
def item():
    return next(
        i for i in load_blend(["South_Korea"]) if i.neutralized and i.neutral != i.neutral_en
    )


def test_native_asks_in_korean_with_blend_instruction(item) -> None:
    instruction = load_instructions(["South_Korea"])["South_Korea"]
    text = str(localization_prompt(item, "native", instruction, CHATML))
    assert text.startswith("<|im_start|>user\n다음 질문을 읽고 설명 없이 단 하나의 답변만을")
    assert f"질문: {item.neutral}\n답변:" in text
    assert text.endswith("<|im_start|>assistant")


def test_english_asks_the_country_free_english_question(item) -> None:
    instruction = load_instructions(["South_Korea"])["South_Korea"]
    text = str(localization_prompt(item, "english", instruction, CHATML))
    assert "Read the following question and provide a single answer" in text
    assert f"Question: {item.neutral_en}\nAnswer:" in text
    assert "Korea" not in item.neutral_en and "Korea" not in text


def test_a_base_model_gets_the_transcript(item) -> None:
    instruction = load_instructions(["South_Korea"])["South_Korea"]
    assert str(localization_prompt(item, "native", instruction, None)) == f"Q: {item.neutral}\nA:"
    english = str(localization_prompt(item, "english", instruction, None))
    assert english == f"Q: {item.neutral_en}\nA:"


def test_each_measure_has_its_own_result_axis() -> None:
    assert set(AXES) == set(MEASURES)
    assert len(set(AXES.values())) == len(MEASURES)


def test_a_system_line_comes_before_the_question(item) -> None:
    instruction = load_instructions(["South_Korea"])["South_Korea"]
    template = "{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}[assistant]"
    line = "The user is in South Korea."
    text = str(localization_prompt(item, "english", instruction, template, line))
    assert text.startswith(f"[system]{line}[user]Read the following question")
    assert str(localization_prompt(item, "english", instruction, None, line)).startswith(
        f"{line}\n\nQ: "
    )
