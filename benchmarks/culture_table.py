"""Culture questions per language, unsteered and steered: the README's hand-checked table.

For each language, five everyday questions whose answer depends on the country (emergency
number, currency, holiday food, capital, national dish) are asked twice: in English with
``--lang L`` (as in the headline example) and in L itself. ``surgsteer ask``'s code path
answers each with ``--no-steer``, with the default steering (the country in a system line)
and with ``--localize vector`` (the LOC vector instead). The expected answers were
checked by hand (official emergency numbers, currencies, capitals, well-known dishes); a cell
gets a check mark when the answer contains one of them. Run from the repository root:

    python -m benchmarks.culture_table [--model NAME|PATH] [--vectors DIR] [--lang ko,zh]
"""

from __future__ import annotations

import argparse
import re
from dataclasses import replace
from pathlib import Path

from surgsteer_cli.session import RuntimeOptions, Session, SteeringRequest

QUESTIONS = (
    "emergency number?",
    "What currency do people pay with?",
    "What do people eat on the most important holiday?",
    "What is the capital city?",
    "What is the national dish?",
)
# language: the QUESTIONS in that language, and the expected answers of each
CASES: dict[str, tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]] = {
    "ko": (
        (
            "긴급 전화번호는 무엇입니까?",
            "사람들은 어떤 화폐로 지불합니까?",
            "가장 중요한 명절에 사람들은 무엇을 먹습니까?",
            "수도는 어디입니까?",
            "대표적인 국민 음식은 무엇입니까?",
        ),
        (
            ("112", "119"),
            ("won", "원"),
            ("tteokguk", "떡국", "songpyeon", "송편"),
            ("seoul", "서울"),
            ("kimchi", "김치", "bulgogi", "불고기", "bibimbap", "비빔밥"),
        ),
    ),
    "zh": (
        (
            "紧急电话号码是多少？",
            "人们用什么货币付款？",
            "人们在最重要的节日吃什么？",
            "首都是哪里？",
            "国菜是什么？",
        ),
        (
            ("110", "119", "120"),
            ("yuan", "renminbi", "rmb", "元", "人民币"),
            ("dumpling", "jiaozi", "饺子", "年糕", "月饼", "mooncake"),
            ("beijing", "北京"),
            ("peking duck", "烤鸭", "饺子", "dumpling", "宫保鸡丁", "kung pao", "麻婆豆腐", "mapo"),
        ),
    ),
    "es": (
        (
            "¿Cuál es el número de emergencia?",
            "¿Con qué moneda paga la gente?",
            "¿Qué come la gente en la fiesta más importante?",
            "¿Cuál es la capital?",
            "¿Cuál es el plato nacional?",
        ),
        (
            ("112", "091", "061"),
            ("euro",),
            ("turrón", "turron", "uvas", "grapes", "roscón", "roscon", "cordero", "lamb"),
            ("madrid",),
            ("paella", "tortilla"),
        ),
    ),
    "id": (
        (
            "Berapa nomor darurat?",
            "Orang membayar dengan mata uang apa?",
            "Apa yang dimakan orang pada hari raya terpenting?",
            "Apa ibu kotanya?",
            "Apa hidangan nasional?",
        ),
        (
            ("112", "110", "118", "119"),
            ("rupiah",),
            ("ketupat", "opor", "rendang"),
            ("jakarta",),
            ("nasi goreng", "rendang", "soto", "sate", "satay", "gado-gado", "tumpeng"),
        ),
    ),
    "el": (
        (
            "Ποιος είναι ο αριθμός έκτακτης ανάγκης;",
            "Με ποιο νόμισμα πληρώνουν οι άνθρωποι;",
            "Τι τρώνε οι άνθρωποι στη σημαντικότερη γιορτή;",
            "Ποια είναι η πρωτεύουσα;",
            "Ποιο είναι το εθνικό πιάτο;",
        ),
        (
            ("112", "100", "166"),
            ("euro", "ευρώ"),
            ("lamb", "αρνί", "tsoureki", "τσουρέκι", "magiritsa", "μαγειρίτσα", "βασιλόπιτα"),
            ("athens", "αθήνα"),
            ("moussaka", "μουσακά", "souvlaki", "σουβλάκι", "fasolada", "φασολάδα"),
        ),
    ),
    "fa": (
        (
            "شماره اضطراری چیست؟",
            "مردم با چه پولی پرداخت می‌کنند؟",
            "مردم در مهم‌ترین جشن چه می‌خورند؟",
            "پایتخت کجاست؟",
            "غذای ملی چیست؟",
        ),
        (
            ("110", "115", "125"),
            ("rial", "toman", "ریال", "تومان"),
            ("sabzi polo", "سبزی پلو", "fish", "ماهی", "ajil", "آجیل"),
            ("tehran", "تهران"),
            ("kabab", "kebab", "کباب", "ghormeh", "قورمه"),
        ),
    ),
    "ar": (
        (
            "ما هو رقم الطوارئ؟",
            "بأي عملة يدفع الناس؟",
            "ماذا يأكل الناس في أهم عيد؟",
            "ما هي العاصمة؟",
            "ما هو الطبق الوطني؟",
        ),
        (
            ("14", "17", "1548"),
            ("dinar", "دينار"),
            ("couscous", "كسكس", "lamb", "خروف", "chorba", "شوربة"),
            ("algiers", "الجزائر"),
            ("couscous", "كسكس"),
        ),
    ),
    "az": (
        (
            "Təcili yardım nömrəsi nədir?",
            "İnsanlar hansı valyuta ilə ödəyir?",
            "İnsanlar ən vacib bayramda nə yeyirlər?",
            "Paytaxt haradır?",
            "Milli yemək nədir?",
        ),
        (
            ("112", "101", "102", "103"),
            ("manat",),
            ("plov", "şəkərbura", "shekerbura", "paxlava", "baklava"),
            ("baku", "bakı"),
            ("plov", "dolma"),
        ),
    ),
}
MAX_TOKENS = 24
REQUESTS = (
    SteeringRequest(steer=False),
    SteeringRequest(),
    SteeringRequest(localize="vector"),
)
"""The columns: unsteered, the default steering, the LOC vector instead of the system line."""


def answer(session: Session, question: str, request: SteeringRequest) -> str:
    """``surgsteer ask`` with ``request``'s options, as one line."""
    steering = session.steering(question, request)
    session.apply(steering)
    text = "".join(session.answer(question, system=steering.system, max_tokens=MAX_TOKENS))
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
    parser.add_argument("--model", help="model name or GGUF file (default: the default model)")
    parser.add_argument("--vectors", type=Path, action="append", default=[])
    parser.add_argument("--lang", default=",".join(CASES))
    args = parser.parse_args()
    session = Session.open(RuntimeOptions(model=args.model, vectors=tuple(args.vectors)))
    print(f"model: {session.engine.path.name}")
    columns = "`--no-steer` | default (`--localize prompt`) | `--localize vector`"
    print(f"| lang | question | expected | {columns} |")
    print("|---|---|---|---|---|---|")
    for language in args.lang.split(","):
        local, expected_answers = CASES[language]
        for english, question_local, expected in zip(
            QUESTIONS, local, expected_answers, strict=True
        ):
            for question in (english, question_local):
                cells = [
                    cell(answer(session, question, replace(request, language=language)), expected)
                    for request in REQUESTS
                ]
                row = (
                    f"| {language} | {question} | {', '.join(expected[:3])} | {' | '.join(cells)} |"
                )
                print(row, flush=True)


if __name__ == "__main__":
    main()
