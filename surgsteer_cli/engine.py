"""A llama.cpp model (llama-cpp-python) with a control vector that can be swapped live."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from surgsteer_cli.cpus import available_cpus
from surgsteer_cli.errors import ModelLoadError, SurgsteerError
from surgsteer_cli.model_spec import ModelSpec
from surgsteer_cli.prompting import Prompt

_GPU_BACKENDS = ("CUDA", "Metal", "Vulkan", "ROCm", "HIP", "SYCL", "OpenCL")
_GGML_LOG_ERROR = 4  # ggml's enum: none, debug, info, warn, error, cont
_llama_errors: list[str] = []


def silence_llama_logs() -> None:
    """Keep llama.cpp's log lines off the terminal; remember its errors for our messages
    (``last_llama_error``). Idempotent."""
    import llama_cpp

    global _log_callback
    if _log_callback is not None:
        return

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        if level == _GGML_LOG_ERROR:
            _llama_errors.append(text.decode("utf-8", errors="replace").strip())

    _log_callback = callback  # must outlive this call: llama.cpp keeps the pointer
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))


_log_callback = None


def last_llama_error() -> str | None:
    """The last error line llama.cpp logged (once ``silence_llama_logs`` is in effect)."""
    return _llama_errors[-1] if _llama_errors else None


def gpu_backend() -> str | None:
    """Name of the GPU backend llama.cpp was built with, or None for a CPU-only build."""
    import llama_cpp

    if not llama_cpp.llama_supports_gpu_offload():
        return None
    info = llama_cpp.llama_print_system_info().decode(errors="replace")
    return next((name for name in _GPU_BACKENDS if name in info), "GPU")


SAMPLING = {"top_k": 40, "top_p": 0.95, "min_p": 0.05, "repeat_penalty": 1.0}
"""Sampler settings besides temperature and seed: llama-cpp-python's defaults, passed
explicitly so that ``ask --json`` can report them. No repeat penalty: it would change every
answer, eval's too; ``session`` stops degenerate loops instead."""


class Completion:
    """The pieces of a completion as they come; once all are read, ``finish_reason`` says
    why it ended: "stop" (end of text or a stop sequence) or "length" (``max_tokens``)."""

    def __init__(self, chunks: Iterator[dict]) -> None:
        self._chunks = chunks
        self.finish_reason: str | None = None

    def __iter__(self) -> Iterator[str]:
        for chunk in self._chunks:
            choice = chunk["choices"][0]
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
            if choice["text"]:
                yield choice["text"]


@dataclass(frozen=True)
class Perf:
    """llama.cpp's own counters: prompt tokens evaluated in batches, then tokens decoded one by
    one (each generated token except the last, which is sampled but never evaluated). Its
    prompt timer is not used: through llama-cpp-python it stays near zero."""

    prompt_tokens: int
    decoded_tokens: int
    decode_s: float

    @property
    def tokens_per_s(self) -> float:
        """Decoding speed; 0 when nothing was decoded."""
        return self.decoded_tokens / self.decode_s if self.decode_s > 0 else 0.0


@dataclass(frozen=True, eq=False)
class Control:
    """The control buffer for each part of a conversation (None: that part runs unsteered).

    ``question``: the prompt up to the chat template's assistant prefix (system and user turns);
    ``prefix``: that prefix (the last template piece of the prompt, e.g.
    ``<|im_end|>\n<|im_start|>assistant\n``); ``answer``: everything after it, the generated
    tokens and any answer text the prompt itself starts. A prompt without a template (a base
    model's transcript) is all question. Stock llama.cpp steers every token alike
    (``everywhere``); the KV cache keeps what the question was steered with, so an answer
    decoded unsteered still reads a steered context."""

    question: np.ndarray | None = field(default=None, repr=False)
    prefix: np.ndarray | None = field(default=None, repr=False)
    answer: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def everywhere(cls, buffer: np.ndarray | None) -> Control:
        """The same buffer on every token (or no steering at all)."""
        return cls(buffer, buffer, buffer)

    @property
    def parts(self) -> tuple[np.ndarray | None, ...]:
        """The buffers of question, prefix and answer, in that order."""
        return (self.question, self.prefix, self.answer)

    @property
    def uniform(self) -> bool:
        """Whether every part gets the same buffer (the same object)."""
        return self.question is self.prefix is self.answer


UNSTEERED = Control()


def apply_control(ctx: object, buffer: np.ndarray | None, spec: ModelSpec) -> None:
    """Set the control vector of llama.cpp context ``ctx``: a float32 C-contiguous buffer of
    shape (n_layer, n_embd) whose row r steers block r + 1, or None for no steering."""
    import llama_cpp

    if buffer is None:
        status = llama_cpp.llama_set_adapter_cvec(ctx, None, 0, spec.n_embd, 0, 0)
    else:
        if buffer.shape != (spec.n_layer, spec.n_embd):
            raise SurgsteerError(
                f"control buffer has shape {buffer.shape}, expected {(spec.n_layer, spec.n_embd)}"
            )
        data = buffer.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        status = llama_cpp.llama_set_adapter_cvec(
            ctx, data, buffer.size, spec.n_embd, 1, spec.n_layer - 1
        )
    if status != 0:
        raise SurgsteerError(f"llama.cpp refused the control vector (status {status})")


class Engine:
    """One loaded model. ``set_control`` changes the steering without reloading weights."""

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        n_gpu_layers: int | None = None,
        logits_all: bool = False,
        use_mmap: bool = True,
        seed: int = 0,
    ) -> None:
        """``use_mmap=False`` reads the weights into memory instead of mapping the file: on a
        CPU that repacks them (llama.cpp's extra buffer types) the mapped file's pages would
        stay resident beside the repacked copy."""
        import llama_cpp

        silence_llama_logs()
        _llama_errors.clear()
        backend = gpu_backend()
        if n_gpu_layers is None:
            n_gpu_layers = -1 if backend else 0
        self.backend = backend if backend and n_gpu_layers != 0 else "CPU"
        try:
            self.llm = llama_cpp.Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_threads=n_threads or available_cpus(),
                n_gpu_layers=n_gpu_layers,
                logits_all=logits_all,
                use_mmap=use_mmap,
                seed=seed,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            detail = _llama_errors[-1] if _llama_errors else str(exc)
            raise ModelLoadError(f"cannot load model {model_path}: {detail}") from None
        self.path = Path(model_path)
        try:
            self.spec = ModelSpec.from_metadata(self.llm.metadata)
        except (KeyError, ValueError) as exc:
            raise ModelLoadError(f"{model_path}: incomplete GGUF metadata ({exc})") from None
        self._control = UNSTEERED
        self._mixed_cache = False  # the KV cache holds tokens steered by several buffers

    @property
    def chat_template(self) -> str | None:
        """The model's chat template from its GGUF metadata, if any."""
        return self.llm.metadata.get("tokenizer.chat_template")

    @property
    def control(self) -> Control:
        """The steering in effect: buffers of shape (n_layer, n_embd), row r steers block r + 1."""
        return self._control

    def set_control(self, control: Control | np.ndarray | None) -> None:
        """Apply ``control`` (a buffer steers every token; None clears it) and drop the KV cache
        computed without it."""
        if not isinstance(control, Control):
            control = Control.everywhere(control)
        contiguous: dict[int, np.ndarray] = {}
        for buffer in control.parts:
            if buffer is not None and id(buffer) not in contiguous:
                contiguous[id(buffer)] = np.ascontiguousarray(buffer, dtype=np.float32)
        control = Control(*(contiguous.get(id(buffer)) for buffer in control.parts))
        apply_control(self.llm.ctx, control.answer, self.spec)
        self._control = control
        self.llm.reset()
        self._mixed_cache = False

    def segments(self, prompt: str | Prompt) -> list[tuple[list[int], np.ndarray | None]]:
        """The tokens of ``prompt`` split into question, assistant prefix and answer (see
        ``Control``), each with the buffer that steers it; empty parts are left out."""
        pieces = prompt.pieces if isinstance(prompt, Prompt) else ((prompt, False),)
        templated = [i for i, (_, is_template) in enumerate(pieces) if is_template]
        prefix = templated[-1] if templated else len(pieces)
        spans = (pieces[:prefix], pieces[prefix : prefix + 1], pieces[prefix + 1 :])
        found, first = [], True
        for span, buffer in zip(spans, self._control.parts, strict=True):
            if span:
                found.append((self.tokenize(Prompt(tuple(span)), add_bos=first), buffer))
                first = False
        return found

    def tokenize(self, text: str | Prompt, *, add_bos: bool = True) -> list[int]:
        """Tokens of ``text``. Special-token spellings count only in a Prompt's template
        pieces; in a plain string or in user text they are kept as plain text."""
        pieces = text.pieces if isinstance(text, Prompt) else ((text, False),)
        tokens: list[int] = []
        for i, (piece, is_template) in enumerate(pieces):
            tokens += self.llm.tokenize(
                piece.encode("utf-8"), add_bos=add_bos and i == 0, special=is_template
            )
        return tokens

    def generate(
        self,
        prompt: str | Prompt,
        *,
        max_tokens: int = 64,
        temperature: float = 0.0,
        seed: int | None = None,
        stop: Sequence[str] = (),
    ) -> Completion:
        """Stream the completion of ``prompt`` piece by piece (greedy at temperature 0).
        A prompt that does not fit the context is refused here, before streaming starts;
        the model runs only once the pieces are read."""
        tokens = self.tokenize(prompt)
        n_ctx = self.llm.n_ctx()
        if len(tokens) + 1 > n_ctx:
            raise SurgsteerError(
                f"the prompt is too long: {len(tokens)} tokens, the context holds {n_ctx}"
            )

        def chunks() -> Iterator[dict]:
            self._prepare(prompt)
            yield from self.llm.create_completion(
                tokens,
                max_tokens=min(max_tokens, n_ctx - len(tokens)),
                temperature=temperature,
                seed=seed,
                stop=list(stop),
                stream=True,
                **SAMPLING,
            )

        return Completion(chunks())

    def _prepare(self, prompt: str | Prompt) -> None:
        """Under a control that is not uniform, evaluate the prompt part by part (see
        ``_evaluate``): generation then samples from the cached prompt at once and decodes
        the answer under ``control.answer``."""
        if self._control.uniform and not self._mixed_cache:
            return
        self._evaluate(prompt)

    def _evaluate(self, prompt: str | Prompt) -> None:
        """Evaluate ``prompt`` from an empty cache, each part under its buffer, and leave the
        answer's buffer applied."""
        self.llm.reset()
        for tokens, buffer in self.segments(prompt):
            apply_control(self.llm.ctx, buffer, self.spec)
            self.llm.eval(tokens)
        apply_control(self.llm.ctx, self._control.answer, self.spec)
        self._mixed_cache = not self._control.uniform

    def continuation_logprobs(
        self, prompt: str | Prompt, continuations: Sequence[str]
    ) -> list[float]:
        """The summed log-probability of each text in ``continuations`` as the answer to
        ``prompt``, steered as generation steers it (prompt parts by their buffers, the
        answer by ``control.answer``); the prompt is evaluated once."""
        self._evaluate(prompt)
        prompt_length = self.llm.n_tokens
        scores = []
        for text in continuations:
            tokens = self.tokenize(text, add_bos=False)
            total = 0.0
            for position, token in enumerate(tokens):
                if position:
                    self.llm.eval([tokens[position - 1]])
                total += float(log_softmax(self._last_logits())[token])
            scores.append(total)
            self.llm._ctx.kv_cache_seq_rm(-1, prompt_length, -1)
            self.llm.n_tokens = prompt_length
        self._mixed_cache = True
        return scores

    def _last_logits(self) -> np.ndarray:
        """Logits of the token after the last one evaluated."""
        import llama_cpp

        logits = llama_cpp.llama_get_logits_ith(self.llm.ctx, -1)
        return np.ctypeslib.as_array(logits, shape=(self.llm.n_vocab(),))

    def next_logits(self, text: str) -> np.ndarray:
        """Logits of the token after ``text``, evaluated afresh under the current control."""

        self.llm.reset()
        self.llm.eval(self.tokenize(text))
        return self._last_logits().copy()

    def reset_perf(self) -> None:
        """Start llama.cpp's token counters and timers afresh (see ``perf``)."""
        import llama_cpp

        llama_cpp.llama_perf_context_reset(self.llm.ctx)

    def perf(self) -> Perf:
        """Tokens llama.cpp evaluated since ``reset_perf``, and the time it spent on them."""
        import llama_cpp

        data = llama_cpp.llama_perf_context(self.llm.ctx)
        return Perf(
            prompt_tokens=data.n_p_eval,
            decoded_tokens=data.n_eval,
            decode_s=data.t_eval_ms / 1000,
        )


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities from logits (float64, so that small differences survive)."""
    shifted = logits.astype(np.float64) - float(logits.max())
    return shifted - np.log(np.exp(shifted).sum())
