"""Log-likelihood scoring with llama.cpp's batch API: logits only where they are needed.

With a 262k-token vocabulary the output layer costs more than the whole transformer body of a
small model, so :class:`Scorer` asks llama.cpp for logits only at the positions whose next
token is scored. Candidate sentences that share a prefix (a cloze prompt filled with each
candidate) are scored in one ``llama_decode``: the shared tokens are evaluated once and belong
to every candidate's sequence, then each candidate's remaining tokens go in its own sequence.

The shared prefix is not cut from the text at ``<mask>``: tokenizing "text before the mask"
and "candidate + rest" separately can differ from the tokenization of the whole sentence (a
trailing space, or characters that merge across the boundary). It is the longest run of
tokens that all the filled-in sentences' own tokenizations share, so every candidate is scored
on exactly its sentence's tokens, as a from-scratch evaluation would.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

import numpy as np

from surgsteer_cli.engine import Engine, apply_control
from surgsteer_cli.errors import SurgsteerError
from surgsteer_cli.prompting import Prompt

MAX_SEQUENCES = 16  # candidates decoded together; more are split into groups
MAX_TOKENS = 2048  # tokens in one llama_decode (and KV cells of the scoring context)


class Scorer:
    """Scores token sequences on a second llama.cpp context over ``engine``'s weights.

    The context keeps up to :data:`MAX_SEQUENCES` sequences in one unified KV cache and follows
    ``engine.set_control``: a sentence (cloze) is steered as a question, a prompt
    (``next_token_logprobs``) part by part as generation steers it. Use it as a context manager
    (or call :meth:`close`) so the context is freed before the model.
    """

    def __init__(self, engine: Engine) -> None:
        import llama_cpp

        self.engine = engine
        params = llama_cpp.llama_context_params.from_buffer_copy(engine.llm.context_params)
        params.n_ctx = params.n_batch = params.n_ubatch = MAX_TOKENS
        params.n_seq_max = MAX_SEQUENCES
        params.kv_unified = True
        self._ctx = llama_cpp.llama_init_from_model(engine.llm.model, params)
        if not self._ctx:
            raise SurgsteerError("llama.cpp could not create a scoring context")
        self._memory = llama_cpp.llama_get_memory(self._ctx)
        self._batch = llama_cpp.llama_batch_init(MAX_TOKENS, 0, MAX_SEQUENCES)
        self._n_vocab = engine.llm.n_vocab()
        self._applied: np.ndarray | None = None

    def __enter__(self) -> Scorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the context and batch (idempotent)."""
        import llama_cpp

        if self._ctx:
            llama_cpp.llama_batch_free(self._batch)
            llama_cpp.llama_free(self._ctx)
            self._ctx = None

    def sentence_tokens(self, text: str) -> list[int]:
        """Tokens of a sentence to score, starting with a start token (BOS, else EOS) so that
        its first real token is scored too."""
        tokens = self.engine.tokenize(text)
        start = self.engine.llm.token_bos()
        start = start if start >= 0 else self.engine.llm.token_eos()
        return tokens if tokens and tokens[0] == start else [start, *tokens]

    def continuation_logprobs(self, sequences: Sequence[Sequence[int]]) -> list[float]:
        """For each sequence, the summed log-probability of its tokens after the prefix that
        all of them share (at least one token is left to score in each).

        Differences between these numbers equal differences between the sequences' full
        log-likelihoods, so ranking by them ranks the complete sentences."""
        if not sequences or any(len(tokens) < 2 for tokens in sequences):
            raise SurgsteerError("each scored sequence needs a start token and one more token")
        shared = shared_prefix_length(sequences)
        if shared == 0:
            raise SurgsteerError("scored sequences must share their start token")
        scores: list[float] = []
        for start in range(0, len(sequences), MAX_SEQUENCES):
            scores += self._score_group(sequences[start : start + MAX_SEQUENCES], shared)
        return scores

    def from_scratch_logprobs(self, sequences: Sequence[Sequence[int]]) -> list[float]:
        """The reference way (lm-eval's loglikelihood): each sequence evaluated alone with
        logits at every position; the summed log-probability of all tokens after the first."""
        scores = []
        for tokens in sequences:
            self._begin()
            self._decode([(token, position, [0], True) for position, token in enumerate(tokens)])
            picks = self._logprobs_at(list(enumerate(tokens[1:])))
            scores.append(float(picks.sum()))
        return scores

    def next_token_logprobs(self, prompt: str | Prompt) -> np.ndarray:
        """Log-probabilities over the vocabulary of the token that follows ``prompt``, each
        part of it steered by its buffer (``Engine.segments``)."""
        self._begin()
        segments = self.engine.segments(prompt)
        position = 0
        for number, (tokens, buffer) in enumerate(segments):
            self._steer(buffer)
            last = len(tokens) - 1 if number == len(segments) - 1 else -1
            entries = [(token, position + i, [0], i == last) for i, token in enumerate(tokens)]
            self._decode(entries)
            position += len(tokens)
        logits = self._logits(1)
        return logits[0] - _log_norms(logits)[0]

    def _score_group(self, group: Sequence[Sequence[int]], shared: int) -> list[float]:
        """One decode: the shared tokens in every sequence of the group, then each sequence's
        own tokens but its last (whose logits nobody needs)."""
        self._begin()
        everyone = list(range(len(group)))
        entries = [(group[0][i], i, everyone, i == shared - 1) for i in range(shared)]
        for seq, tokens in enumerate(group):
            entries += [(tokens[i], i, [seq], True) for i in range(shared, len(tokens) - 1)]
        self._decode(entries)
        # The first target of each sequence is predicted by the last shared token (row 0),
        # the others by this sequence's own rows, in batch order.
        picks, owners, row = [], [], 1
        for index, tokens in enumerate(group):
            targets = tokens[shared:]
            picks += [(0, targets[0])] + [(row + j, t) for j, t in enumerate(targets[1:])]
            owners += [index] * len(targets)
            row += len(targets) - 1
        logprobs = self._logprobs_at(picks)
        return [float(total) for total in np.bincount(owners, logprobs, minlength=len(group))]

    def _begin(self) -> None:
        """Empty the KV cache and steer as the engine steers a question."""
        import llama_cpp

        if self._ctx is None:
            raise SurgsteerError("the scorer is closed")
        self._steer(self.engine.control.question)
        llama_cpp.llama_memory_clear(self._memory, True)

    def _steer(self, buffer: np.ndarray | None) -> None:
        """Apply ``buffer`` to the scoring context unless it is already in effect."""
        if buffer is not self._applied:
            apply_control(self._ctx, buffer, self.engine.spec)
            self._applied = buffer

    def _decode(self, entries: list[tuple[int, int, list[int], bool]]) -> None:
        """Decode (token, position, sequence ids, wants logits) entries in one batch."""
        import llama_cpp

        if len(entries) > MAX_TOKENS:
            raise SurgsteerError(f"{len(entries)} tokens to score at once; at most {MAX_TOKENS}")
        batch = self._batch
        batch.n_tokens = len(entries)
        for i, (token, position, seqs, wants_logits) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = position
            batch.n_seq_id[i] = len(seqs)
            for j, seq in enumerate(seqs):
                batch.seq_id[i][j] = seq
            batch.logits[i] = wants_logits
        status = llama_cpp.llama_decode(self._ctx, batch)
        if status != 0:
            raise SurgsteerError(f"llama.cpp could not evaluate the batch (status {status})")

    def _logits(self, n_rows: int) -> np.ndarray:
        """The ``n_rows`` logit rows of the last decode, in batch order (a view into
        llama.cpp's buffer, valid until the next decode)."""
        import llama_cpp

        pointer = llama_cpp.llama_get_logits(self._ctx)
        return np.ctypeslib.as_array(
            ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float)), shape=(n_rows, self._n_vocab)
        )

    def _logprobs_at(self, picks: Sequence[tuple[int, int]]) -> np.ndarray:
        """Log-probability of each (logit row, token) of the last decode."""
        rows, tokens = np.asarray(picks).T
        logits = self._logits(int(rows.max()) + 1)
        return logits[rows, tokens] - _log_norms(logits)[rows]


def _log_norms(logits: np.ndarray) -> np.ndarray:
    """Per row, the log of the softmax denominator (one scratch copy, exponentiated in place)."""
    top = logits.max(axis=1)
    shifted = logits - top[:, None]
    np.exp(shifted, out=shifted)
    return top + np.log(shifted.sum(axis=1))


def shared_prefix_length(sequences: Sequence[Sequence[int]]) -> int:
    """How many leading tokens all ``sequences`` share, leaving each at least one of its own."""
    first = sequences[0]
    limit = min(len(tokens) for tokens in sequences) - 1
    for i in range(limit):
        if any(tokens[i] != first[i] for tokens in sequences):
            return i
    return max(limit, 0)
