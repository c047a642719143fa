"""The questions on which stock llama.cpp, given surgsteer's exported file, must answer as
``surgsteer ask`` does (``tests/test_stock_llama_cpp.py`` for ``llama-completion``,
``benchmarks/llama_server_check.py`` for ``llama-server``), and what "the same" means."""

from __future__ import annotations

from typing import Any

MAX_TOKENS = 24
QUESTIONS = {
    "ko": (
        "한국의 긴급 전화번호는?",
        "한국의 수도는 어디인가요?",
        "한국 사람들은 아침에 무엇을 먹나요?",
    ),
    "es": (
        "¿Cuál es el número de emergencias?",
        "¿Cuál es la capital del país?",
        "¿Qué se come en Navidad?",
    ),
}


def same_answer(stock_answer: str, record: dict[str, Any]) -> bool:
    """Whether stock llama.cpp said what ``ask`` printed (its ``--json`` ``record``), or began
    it where ``ask``'s loop detector cut a repeating answer short (llama.cpp has none)."""
    if record["finish_reason"] == "repetition":
        return stock_answer.startswith(record["answer"])
    return stock_answer == record["answer"]
