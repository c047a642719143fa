"""Culture questions per language, unsteered and steered: the README's hand-checked table.

For each language the same two questions (asked in English with ``--lang L``, as in the
headline example, and the emergency question also in L itself) are answered by ``surgsteer
ask``'s code path twice: with ``--no-steer`` and with the default steering. The expected
answers were checked by hand (official emergency numbers; currencies); a cell gets a check
mark when the answer contains one of them. Run from the repository root:

    python benchmarks/culture_table.py [--vectors DIR] [--lang ko,zh]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from surgsteer_cli.session import RuntimeOptions, Session  # noqa: E402

EMERGENCY = "emergency number?"
CURRENCY = "What currency do people pay with?"
# language: (the emergency question in the language, emergency numbers, currency names)
CASES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "ko": ("긴급 전화번호는 무엇입니까?", ("112", "119"), ("won", "원")),
    "zh": (
        "紧急电话号码是多少？",
        ("110", "119", "120"),
        ("yuan", "renminbi", "rmb", "元", "人民币"),
    ),
    "es": ("¿Cuál es el número de emergencia?", ("112", "091", "061"), ("euro",)),
    "id": ("Berapa nomor darurat?", ("112", "110", "118", "119"), ("rupiah",)),
    "el": ("Ποιος είναι ο αριθμός έκτακτης ανάγκης;", ("112", "100", "166"), ("euro", "ευρώ")),
    "fa": ("شماره اضطراری چیست؟", ("110", "115", "125"), ("rial", "toman", "ریال", "تومان")),
    "ar": ("ما هو رقم الطوارئ؟", ("14", "17", "1548"), ("dinar", "دينار")),
    "az": ("Təcili yardım nömrəsi nədir?", ("112", "101", "102", "103"), ("manat",)),
}
MAX_TOKENS = 24


def answer(session: Session, question: str, language: str, steer: bool) -> str:
    """``surgsteer ask --lang language [--no-steer] question``, as one line."""
    session.apply(session.steering(question, language=language, steer=steer))
    text = "".join(session.answer(question, max_tokens=MAX_TOKENS))
    return " ".join(text.split())


def contains(text: str, expected: tuple[str, ...]) -> bool:
    """Whether ``text`` holds one of ``expected`` (numbers as whole numbers)."""
    lowered = text.lower()
    return any(
        re.search(rf"(?<!\d){re.escape(word)}(?!\d)", lowered)
        if word.isdigit()
        else word in lowered
        for word in expected
    )


def cell(text: str, expected: tuple[str, ...]) -> str:
    mark = "✓" if contains(text, expected) else "✗"
    return f"{mark} {text.replace('|', '/')[:60]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=Path, action="append", default=[])
    parser.add_argument("--lang", default=",".join(CASES))
    args = parser.parse_args()
    session = Session.open(RuntimeOptions(vectors=tuple(args.vectors)))
    print("| lang | question | expected | `--no-steer` | steered (default) |")
    print("|---|---|---|---|---|")
    for language in args.lang.split(","):
        local, numbers, currencies = CASES[language]
        for question, expected in ((EMERGENCY, numbers), (local, numbers), (CURRENCY, currencies)):
            plain = answer(session, question, language, steer=False)
            steered = answer(session, question, language, steer=True)
            print(
                f"| {language} | {question} | {', '.join(expected)} | "
                f"{cell(plain, expected)} | {cell(steered, expected)} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
