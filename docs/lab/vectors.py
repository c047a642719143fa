"""Lab: EN and country-method LOC directions for one language, kept in memory form.

``python docs/lab/vectors.py ko`` writes /tmp/surgsteer-lab/ko.npz with, per block, a unit
direction times the block's typical state norm (as `surgsteer extract` stores them):
``en`` (English minus L on BMLAMA facts), ``c_mean`` (question naming the country minus the
same question without it, mean over tokens), ``c_qa_mean`` / ``c_qa_last`` (the same inside the
``Q: … A:`` prompt, mean over tokens / last token).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from surgsteer_convert.activations import States, collect  # noqa: E402
from surgsteer_convert.contrasts import en_contrast, load_extraction_data  # noqa: E402
from surgsteer_convert.loading import load_model  # noqa: E402

LAB = Path("/tmp/surgsteer-lab")


def qa(question: str) -> str:
    """The prompt ``ask`` gives a base model."""
    return f"Q: {question}\nA:"


def direction(states: States, positives: list[str], negatives: list[str], pool: str) -> np.ndarray:
    """Mean difference per block, as a unit vector times the typical state norm."""
    diff = (states.take(positives, pool) - states.take(negatives, pool)).mean(axis=0)
    typical = states.norms(positives + negatives).mean(axis=0)
    return diff / np.linalg.norm(diff, axis=1, keepdims=True) * typical[:, None]


def main(language: str) -> None:
    data = load_extraction_data([language])
    en = en_contrast(data, language)
    pairs = [(i.question, i.neutral) for i in data.blend[language] if i.neutralized]
    pairs += [(i.question_en, i.neutral_en) for i in data.blend[language]]
    pairs = [(named, neutral) for named, neutral in pairs if named != neutral]
    named, neutral = [p for p, _ in pairs], [n for _, n in pairs]
    prompts = {*en.positives, *en.negatives, *named, *neutral}
    prompts |= {qa(text) for text in named + neutral}
    states = collect(load_model(), sorted(prompts))
    named_qa, neutral_qa = [qa(text) for text in named], [qa(text) for text in neutral]
    LAB.mkdir(exist_ok=True)
    np.savez(
        LAB / f"{language}.npz",
        en=direction(states, list(en.positives), list(en.negatives), "mean"),
        c_mean=direction(states, named, neutral, "mean"),
        c_qa_mean=direction(states, named_qa, neutral_qa, "mean"),
        c_qa_last=direction(states, named_qa, neutral_qa, "last"),
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "ko")
