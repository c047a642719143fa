"""Lab helpers: steer with an in-memory control buffer, on every token or the prompt only."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import llama_cpp  # noqa: E402

from surgsteer_cli.datasets.blend import LANGUAGE_REGION, BlendItem, load_blend  # noqa: E402
from surgsteer_cli.datasets.bmlama import ClozeItem, load_bmlama  # noqa: E402
from surgsteer_cli.datasets.splits import load_splits  # noqa: E402
from surgsteer_cli.engine import Engine, apply_control  # noqa: E402
from surgsteer_cli.evaluation.matching import soft_match  # noqa: E402
from surgsteer_cli.evaluation.scoring import Scorer, _log_norms  # noqa: E402
from surgsteer_cli.evaluation.transfer import cloze_row  # noqa: E402
from surgsteer_cli.models import resolve_model  # noqa: E402
from surgsteer_cli.prompting import qa_prompt  # noqa: E402

LAB = Path("/tmp/surgsteer-lab")
ENGINE = Engine(resolve_model(None), n_ctx=512)
SPEC = ENGINE.spec


def load_vectors(language: str) -> dict[str, np.ndarray]:
    """The directions ``vectors.py`` saved: name -> [n_layer, n_embd], row n = block n."""
    return dict(np.load(LAB / f"{language}.npz"))


def control(parts: Iterable[tuple[np.ndarray, float, Iterable[int]]]) -> np.ndarray:
    """llama.cpp's buffer (row r steers block r + 1) from (directions, scale, blocks)."""
    buffer = np.zeros((SPEC.n_layer, SPEC.n_embd), np.float32)
    for directions, scale, blocks in parts:
        for block in blocks:
            buffer[block - 1] += scale * directions[block]
    return buffer


def greedy(
    question: str, buffer: np.ndarray | None, prompt_only: bool, max_tokens: int = 24
) -> str:
    """The greedy first-line answer to ``question``; with ``prompt_only`` the generated
    tokens run unsteered."""
    llm = ENGINE.llm
    llm.reset()
    apply_control(llm.ctx, buffer, SPEC)
    llm.eval(ENGINE.tokenize(qa_prompt(question)))
    if prompt_only:
        apply_control(llm.ctx, None, SPEC)
    tokens: list[int] = []
    for _ in range(max_tokens):
        logits = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        token = int(np.argmax(np.ctypeslib.as_array(logits, shape=(llm.n_vocab(),))))
        if token == llm.token_eos():
            break
        tokens.append(token)
        if "\n" in llm.detokenize(tokens).decode("utf-8", "replace"):
            break
        llm.eval([token])
    return llm.detokenize(tokens).decode("utf-8", "replace").split("\n")[0].strip()


def blend_items(language: str, limit: int = 60) -> list[BlendItem]:
    """Consensus BLEnD questions of the tune split for ``language``'s region."""
    ids = load_splits().blend_tune
    items = load_blend([LANGUAGE_REGION[language]])
    return [item for item in items if item.id in ids and item.consensus][:limit]


def localization(items: Sequence[BlendItem], buffer: np.ndarray | None, prompt_only: bool) -> float:
    """Soft-match accuracy of the greedy answers to each item's ``neutral`` question."""
    hits = 0
    for item in items:
        answer = greedy(item.neutral, buffer, prompt_only)
        hits += soft_match(answer, item.answers, item.language) or soft_match(
            answer, item.answers_en, "en"
        )
    return hits / len(items)


def cloze_items(language: str, limit: int = 60) -> list[ClozeItem]:
    """The first ``limit`` BMLAMA facts of the tune split in ``language``."""
    rows = load_splits().bmlama_tune
    items = [item for item in load_bmlama([language])[language] if item.row in rows]
    return sorted(items, key=lambda item: item.row)[:limit]


def logprob_rows(scorer: Scorer, n_rows: int) -> np.ndarray:
    """Log-softmax of the first ``n_rows`` logit rows of the scorer's last decode."""
    logits = scorer._logits(n_rows)
    return logits - _log_norms(logits)[:, None]


class PromptOnlyScorer(Scorer):
    """The shared prefix evaluated with the control vector, candidate tokens without it."""

    def _score_group(self, group: Sequence[Sequence[int]], shared: int) -> list[float]:
        self._begin()
        everyone = list(range(len(group)))
        self._decode([(group[0][i], i, everyone, i == shared - 1) for i in range(shared)])
        first = logprob_rows(self, 1)[0]
        apply_control(self._ctx, None, SPEC)
        entries = [
            (tokens[i], i, [seq], True)
            for seq, tokens in enumerate(group)
            for i in range(shared, len(tokens) - 1)
        ]
        rows = np.zeros((0, 0))
        if entries:
            self._decode(entries)
            rows = logprob_rows(self, len(entries))
        apply_control(self._ctx, self._applied, SPEC)
        scores, row = [], 0
        for tokens in group:
            targets = tokens[shared:]
            picks = [first[targets[0]], *(rows[row + j, t] for j, t in enumerate(targets[1:]))]
            row += len(targets) - 1
            scores.append(float(np.sum(picks)))
        return scores


SCORERS = {False: Scorer(ENGINE), True: PromptOnlyScorer(ENGINE)}


def transfer(items: Sequence[ClozeItem], buffer: np.ndarray | None, prompt_only: bool) -> float:
    """Cloze accuracy under ``buffer``."""
    ENGINE.set_control(buffer)
    scorer = SCORERS[prompt_only]
    return float(np.mean([cloze_row(scorer, item)["correct"] for item in items]))
