"""Write ``prompts/facts/facts.jsonl``: everyday facts about each profile language's country,
taken from reference data (libphonenumber, CLDR through Babel, the IANA time-zone database
through pytz), never from what a model answers. See ``surgsteer_cli/datasets/facts.py``.

    pip install phonenumbers babel pytz && python -m benchmarks.build_facts

What an unlocalized model says is dropped from every country's answers: the North American
emergency number 911 (libphonenumber lists it for Iran too) and the US time-zone abbreviations
(China's CST): such an answer cannot show localization.
"""

from __future__ import annotations

import datetime
import itertools
import json
import re
from pathlib import Path

import phonenumbers
import pytz
from babel import Locale
from babel.languages import get_official_languages
from babel.numbers import get_currency_name, get_territory_currencies
from phonenumbers import PhoneMetadata

from surgsteer_cli.datasets.blend import LANGUAGE_REGION
from surgsteer_cli.datasets.facts import KINDS

OUT = Path(__file__).resolve().parents[1] / "prompts" / "facts" / "facts.jsonl"
LANGUAGES = ("ko", "zh", "es", "id", "el", "fa", "ar", "az")
TERRITORY = {"South_Korea": "KR", "China": "CN", "Spain": "ES", "Indonesia": "ID"}
TERRITORY |= {"Greece": "GR", "Iran": "IR", "Algeria": "DZ", "Azerbaijan": "AZ"}
DEFAULT_CULTURE = "US"
JANUARY = datetime.datetime(2026, 1, 15)
TODAY = datetime.date(2026, 1, 1)
ENGLISH = Locale("en")
NORTH_AMERICAN_EMERGENCY = "911"

QUESTIONS = {
    "emergency": (
        ("What number do you call in an emergency?", " in {country}"),
        ("Which phone number reaches the emergency services?", " in {country}"),
    ),
    "calling_code": (
        ("What is the international calling code for phone numbers?", " in {country}"),
        (
            "Which country code do you dial before a local phone number from abroad?",
            " for {country}",
        ),
    ),
    "currency": (
        ("What currency do people pay with?", " in {country}"),
        ("What is the name of the local money?", " in {country}"),
    ),
    "language": (
        ("What is the official language?", " of {country}"),
        ("Which language do most people speak at home?", " in {country}"),
    ),
    "domain": (
        ("What is the internet country-code top-level domain?", " of {country}"),
        ("Which domain ending do national websites use?", " in {country}"),
    ),
    "timezone": (
        ("What time zone is used, as an offset from UTC?", " in {country}"),
        ("What is the UTC offset of the local time?", " in {country}"),
    ),
}
"""Per kind, two phrasings: the question without the country, and what naming it inserts
before the '?' (or the first ',')."""

SOURCES = {
    "emergency": "libphonenumber short-number metadata (emergency)",
    "calling_code": "libphonenumber country calling code (ITU-T E.164)",
    "currency": "CLDR territory currency (ISO 4217) via Babel",
    "language": "CLDR official languages via Babel",
    "domain": "ISO 3166-1 alpha-2 code (IANA ccTLD)",
    "timezone": "IANA time-zone database via pytz, UTC offset on 15 January",
}


def number(digits: str) -> str:
    """A pattern for ``digits`` standing alone (not inside a longer number)."""
    return rf"(?<!\d){re.escape(digits)}(?!\d)"


def emergency_numbers(territory: str) -> set[str]:
    """Every 2-4 digit number libphonenumber lists as an emergency number of ``territory``."""
    metadata = PhoneMetadata.short_metadata_for_region(territory)
    pattern = re.compile(metadata.emergency.national_number_pattern)
    return {
        "".join(digits)
        for length in (2, 3, 4)
        for digits in itertools.product("0123456789", repeat=length)
        if pattern.fullmatch("".join(digits))
    }


def currency_words(territory: str, country: str) -> set[str]:
    """ISO 4217 codes and the words of their English names, without the country's adjective
    ("South Korean Won" -> {"KRW", "Won"})."""
    prefixes = {word[:4].lower() for word in country.split()}
    words = set()
    for code in get_territory_currencies(territory, TODAY):
        words.add(code)
        for word in get_currency_name(code, locale="en").split():
            if word[:4].lower() not in prefixes:
                words.add(word)
    return words


def offsets(territory: str) -> tuple[set[float], set[str]]:
    """UTC offsets in hours and alphabetic zone abbreviations of ``territory``'s zones."""
    hours, names = set(), set()
    for zone in pytz.country_timezones(territory):
        local = pytz.timezone(zone).localize(JANUARY)
        hours.add(local.utcoffset().total_seconds() / 3600)
        if local.tzname().isalpha():
            names.add(local.tzname())
    return hours, names


def offset_pattern(hours: float) -> str:
    """A pattern for "UTC+9", "GMT +09:00", "+3:30" and the like."""
    whole, minutes = int(hours), round((hours % 1) * 60)
    sign = r"\+" if hours >= 0 else "[-−]"
    tail = rf"[:.]{minutes:02d}" if minutes else r"(?:[:.]00)?"
    return rf"{sign}\s?0?{abs(whole)}{tail}(?![\d:]|\.\d)"


def answers(kind: str, territory: str, country: str) -> set[str]:
    """The patterns that state ``kind`` for ``territory``, before dropping the US's."""
    if kind == "emergency":
        return {number(digits) for digits in emergency_numbers(territory)}
    if kind == "calling_code":
        return {number(str(phonenumbers.country_code_for_region(territory)))}
    if kind == "currency":
        return {rf"\b{re.escape(word)}\b" for word in currency_words(territory, country)}
    if kind == "language":
        return {
            rf"\b{re.escape(ENGLISH.languages[code.split('_')[0]])}\b"
            for code in get_official_languages(territory)
        }
    if kind == "domain":
        return {rf"\.{territory.lower()}\b"}
    hours, names = offsets(territory)
    return {offset_pattern(h) for h in hours} | {rf"\b{name}\b" for name in names}


def unlocalized(kind: str) -> set[str]:
    """The answers of ``kind`` that the default culture (the US) gives."""
    if kind == "emergency":
        return {number(NORTH_AMERICAN_EMERGENCY)}
    return answers(kind, DEFAULT_CULTURE, "United States")


def country_name(region: str) -> str:
    """BLEnD's region as English text ("South_Korea" -> "South Korea")."""
    return region.replace("_", " ")


def named(question: str, insert: str) -> str:
    """``question`` with ``insert`` before its first comma, or before its question mark."""
    cut = question.index(",") if "," in question else question.index("?")
    return question[:cut] + insert + question[cut:]


def facts() -> list[dict[str, object]]:
    """Every fact record, in kind then language order."""
    records = []
    for kind in KINDS:
        default = unlocalized(kind)
        for variant, (question, insert) in enumerate(QUESTIONS[kind]):
            for language in LANGUAGES:
                region = LANGUAGE_REGION[language]
                country = country_name(region)
                patterns = sorted(answers(kind, TERRITORY[region], country) - default)
                records.append(
                    {
                        "kind": kind,
                        "variant": variant,
                        "language": language,
                        "country": country,
                        "question": question,
                        "question_named": named(question, insert.format(country=country)),
                        "patterns": patterns,
                        "source": SOURCES[kind],
                    }
                )
    return records


def main() -> None:
    """Write the facts file."""
    OUT.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(record, ensure_ascii=False) for record in facts()]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} facts to {OUT}")


if __name__ == "__main__":
    main()
