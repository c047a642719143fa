"""Lab (experiments §13): where a chat model puts the answer letter's probability.

``python docs/lab/mcq_prompts.py 40 en,ko,es`` scores the first N tune-split letter questions
with four prompt forms on the default model and prints, per language and form, the accuracy
(likeliest letter), the letters' share of the next-token probability, and the letters chosen.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from surgsteer_cli.engine import Engine  # noqa: E402
from surgsteer_cli.evaluation.scoring import Scorer  # noqa: E402
from surgsteer_cli.evaluation.selection import load_eval_data  # noqa: E402
from surgsteer_cli.evaluation.transfer import LETTERS, letter_tokens, mcq_prompt  # noqa: E402
from surgsteer_cli.models import resolve_model  # noqa: E402
from surgsteer_cli.prompting import Prompt, qa_prompt  # noqa: E402

limit, languages = int(sys.argv[1]), sys.argv[2].split(",")
data = load_eval_data(
    [lang for lang in languages if lang != "en"] or ["ko"],
    split="tune",
    limit=limit,
    transfer="mcq",
)
engine = Engine(resolve_model(None), n_threads=2)
scorer = Scorer(engine)
letters = letter_tokens(scorer)


def block(item) -> str:
    return "\n".join(
        [item.question, *(f"{k}. {t}" for k, t in zip(LETTERS, item.options, strict=True))]
    )


def asked(text: str) -> Prompt:
    return qa_prompt(text, chat_template=engine.chat_template)


FORMS = {
    "instruction after (before session 6)": lambda i: asked(
        block(i) + "\nAnswer with the letter of the correct option."
    ),
    "'only the letter' after": lambda i: asked(
        block(i) + "\nAnswer with only the letter (A, B, C, or D)."
    ),
    "instruction first": lambda i: asked(
        "Answer the following multiple choice question with only the letter of the correct "
        "option.\n\n" + block(i)
    ),
    "instruction after + reply 'Answer:' (mcq_prompt now)": lambda i: mcq_prompt(
        i, chat_template=engine.chat_template
    ),
}
for language in languages:
    items = data.transfer[language][:limit]
    for name, form in FORMS.items():
        right, mass, chosen = 0, [], Counter()
        for item in items:
            logprobs = scorer.next_token_logprobs(form(item))
            scores = [max(logprobs[t] for t in tokens) for tokens in letters]
            choice = LETTERS[int(np.argmax(scores))]
            right += choice == item.answer
            mass.append(sum(float(np.exp(logprobs[tokens]).sum()) for tokens in letters))
            chosen[choice] += 1
        print(
            f"{language} {name}: {right}/{len(items)}, letter mass {np.mean(mass):.2f}, "
            f"chosen {dict(sorted(chosen.items()))}",
            flush=True,
        )
