"""Several prompts through llama.cpp side by side: one sequence per prompt in a context of its
own (sharing the engine's weights and steering), so that a step runs every prompt in one
``llama_decode`` instead of one call per prompt and token."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from surgsteer_cli.engine import Engine, apply_control, log_softmax
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.grouping import within_budget
from surgsteer_cli.prompting import Prompt

MAX_LOGITS = 128
"""Tokens whose logits one context keeps at once: llama.cpp holds n_vocab floats for each (0.6 MB
on Qwen2's 152k vocabulary); with all 16 held-out sentences in one context, the scale check's
memory rose 0.7 GiB during the Greek ones (docs/results/extract-phases-before.txt)."""


class _Sequence:
    """One prompt's sequence: the position of its next token and the answer so far."""

    def __init__(self, seq: int) -> None:
        self.seq = seq
        self.position = 0
        self.pieces = bytearray()
        self.text = ""


class _Parallel:
    """A llama.cpp context of ``n_ctx`` tokens for ``n_seq`` sequences on the engine's model,
    steered as the engine is (the same buffer on every token); freed on exit."""

    def __init__(self, engine: Engine, n_ctx: int, n_seq: int) -> None:
        import llama_cpp

        if not engine.control.uniform:
            raise SurgsteerError("parallel sequences need the same steering on every token")
        if n_seq > llama_cpp.llama_max_parallel_sequences():
            raise SurgsteerError(
                f"llama.cpp decodes at most "
                f"{llama_cpp.llama_max_parallel_sequences()} sequences at once"
            )
        # the engine's settings (threads, attention kernels: the numbers match its own)
        params = llama_cpp.llama_context_params.from_buffer_copy(engine.llm.context_params)
        params.n_ctx = params.n_batch = n_ctx
        params.n_seq_max = n_seq
        params.kv_unified = True
        self.ctx = llama_cpp.llama_init_from_model(engine.llm.model, params)
        if not self.ctx:
            raise SurgsteerError(f"llama.cpp could not make a context of {n_ctx} tokens")
        try:
            apply_control(self.ctx, engine.control.answer, engine.spec)
        except SurgsteerError:
            llama_cpp.llama_free(self.ctx)
            raise
        self.batch = llama_cpp.llama_batch_init(n_ctx, 0, n_seq)
        self.n_vocab = engine.llm.n_vocab()

    def __enter__(self) -> _Parallel:
        return self

    def __exit__(self, *exc: object) -> None:
        import llama_cpp

        llama_cpp.llama_batch_free(self.batch)
        llama_cpp.llama_free(self.ctx)

    def decode(
        self, feed: Sequence[tuple[_Sequence, Sequence[int]]], all_logits: bool = False
    ) -> list[range]:
        """Decode each sequence's next tokens, all in one batch; per sequence, the batch
        indices whose logits are kept (its last token's, or every token's)."""
        import llama_cpp

        batch = self.batch
        batch.n_tokens = 0
        kept = []
        for sequence, tokens in feed:
            first = batch.n_tokens
            for offset, token in enumerate(tokens):
                i = batch.n_tokens
                batch.token[i] = token
                batch.pos[i] = sequence.position + offset
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = sequence.seq
                batch.logits[i] = all_logits or offset == len(tokens) - 1
                batch.n_tokens += 1
            sequence.position += len(tokens)
            kept.append(range(first if all_logits else batch.n_tokens - 1, batch.n_tokens))
        status = llama_cpp.llama_decode(self.ctx, batch)
        if status != 0:
            raise SurgsteerError(f"llama.cpp could not decode the batch (status {status})")
        return kept

    def logits(self, index: int) -> np.ndarray:
        """The logits llama.cpp kept for batch index ``index`` (a view, valid until the next
        ``decode``)."""
        import llama_cpp

        pointer = llama_cpp.llama_get_logits_ith(self.ctx, index)
        return np.ctypeslib.as_array(pointer, shape=(self.n_vocab,))


def greedy_answers(
    engine: Engine, prompts: Sequence[str | Prompt], max_tokens: int, stop: Sequence[str] = ()
) -> list[str]:
    """The greedy answer (at most ``max_tokens`` tokens, cut before the first of ``stop``) to
    each prompt, under the engine's steering."""
    import llama_cpp

    tokens = [engine.tokenize(prompt) for prompt in prompts]
    if not tokens:
        return []
    answers = [_Sequence(seq) for seq in range(len(tokens))]
    vocab = llama_cpp.llama_model_get_vocab(engine.llm.model)
    with _Parallel(engine, sum(map(len, tokens)) + len(tokens) * max_tokens, len(tokens)) as run:
        feed = list(zip(answers, tokens, strict=True))
        for step in range(max_tokens):
            if not feed:
                break
            kept = run.decode(feed)
            decoded, feed = feed, []
            for (answer, _), indices in zip(decoded, kept, strict=True):
                token = int(np.argmax(run.logits(indices[-1])))
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    continue
                answer.pieces += engine.llm.detokenize([token])
                answer.text = answer.pieces.decode("utf-8", errors="ignore")
                cut = min((answer.text.find(s) for s in stop if s in answer.text), default=-1)
                if cut >= 0:
                    answer.text = answer.text[:cut]
                elif step + 1 < max_tokens:
                    feed.append((answer, [token]))
    return [answer.text for answer in answers]


def token_logprobs(
    engine: Engine, texts: Sequence[str], max_logits: int = MAX_LOGITS
) -> list[np.ndarray]:
    """For each text, the log-probability (float64) of each of its tokens after the first,
    under the engine's steering; texts go side by side, at most ``max_logits`` tokens at once
    (one text at least)."""
    tokens = [engine.tokenize(text) for text in texts]
    found = []
    for members in within_budget([len(ids) for ids in tokens], max_logits):
        group = [tokens[i] for i in members]
        sequences = [_Sequence(seq) for seq in range(len(group))]
        with _Parallel(engine, sum(map(len, group)), len(group)) as run:
            kept = run.decode(list(zip(sequences, group, strict=True)), all_logits=True)
            for ids, indices in zip(group, kept, strict=True):
                pairs = zip(indices[:-1], ids[1:], strict=True)  # the last predicts nothing
                found.append(np.array([log_softmax(run.logits(i))[t] for i, t in pairs]))
    return found
