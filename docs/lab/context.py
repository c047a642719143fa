"""Lab (experiments §17): LOC directions from *context*, measured with PyTorch.

For many country-free English questions (BLEnD's extraction split), the change that the
system line "The user is in <country>." makes to the residual stream at the question's own
tokens (the user turn and the assistant prefix, identical with and without the line), per
block: averaged over those tokens (``mean``) and at the last one (``last``). Saved in natural
size with the typical state norm, to /tmp/surgsteer-lab/context.npz:

    python docs/lab/context.py 24        # questions (needs the [extract] extra)
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from surgsteer_cli.datasets.blend import LANGUAGE_REGION
from surgsteer_cli.models import resolve_model
from surgsteer_cli.prompting import qa_prompt
from surgsteer_convert.contrasts import load_extraction_data
from surgsteer_convert.hooks import capture_outputs
from surgsteer_convert.loading import load_model, read_metadata, use_threads

LANGUAGES = ("ko", "zh", "es", "id", "el", "fa", "ar", "az")
OUT = "/tmp/surgsteer-lab/context.npz"


def tokens(loaded, text: str) -> list[int]:
    """Token ids of ``text``, template tokens spelled as specials."""
    return loaded.tokenizer(text, add_special_tokens=False).input_ids


def states(loaded, ids: list[int]) -> torch.Tensor:
    """Block outputs [block, token, n_embd] of ``ids``."""
    with torch.inference_mode(), capture_outputs(loaded.blocks) as captured:
        loaded.model.get_decoder()(input_ids=torch.tensor([ids]), use_cache=False)
    return torch.stack([captured[i][0] for i in range(len(loaded.blocks))]).float()


def main(count: int) -> None:
    use_threads(None)
    loaded = load_model(None)
    template = str(read_metadata(resolve_model(None))["tokenizer.chat_template"])
    data = load_extraction_data(list(LANGUAGES), max_items=count)
    questions = [item.neutral_en for item in data.blend["ko"]]
    n_layer, n_embd = loaded.spec.n_layer, loaded.spec.n_embd
    sums = {
        (lang, pool): np.zeros((n_layer, n_embd)) for lang in LANGUAGES for pool in ("mean", "last")
    }
    norms = np.zeros(n_layer)
    for number, question in enumerate(questions, start=1):
        plain_ids = tokens(loaded, str(qa_prompt(question, chat_template=template)))
        plain = states(loaded, plain_ids)
        for lang in LANGUAGES:
            country = LANGUAGE_REGION[lang].replace("_", " ")
            told_prompt = qa_prompt(
                question, chat_template=template, system=f"The user is in {country}."
            )
            told_ids = tokens(loaded, str(told_prompt))
            # the question's tokens: from the template piece that closes the system turn on
            suffix = len(tokens(loaded, "".join(text for text, _ in told_prompt.pieces[2:])))
            assert told_ids[-suffix:] == plain_ids[-suffix:], "question tokens differ"
            told = states(loaded, told_ids)
            diff = (told[:, -suffix:] - plain[:, -suffix:]).numpy()
            sums[lang, "mean"] += diff.mean(axis=1)
            sums[lang, "last"] += diff[:, -1]
        norms += plain[:, -suffix:].norm(dim=-1).mean(dim=1).numpy()
        arrays = {f"{lang}_{pool}": total / number for (lang, pool), total in sums.items()}
        np.savez(OUT, norm=norms / number, questions=number, **arrays)  # after each question
        print(f"{number}/{len(questions)} ({suffix} question tokens), saved {OUT}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 24)
