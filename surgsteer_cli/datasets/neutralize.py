"""Remove the country mention from BLEnD questions, keeping a grammatical question.

Every BLEnD question names its region ("대한민국에서 ...", "In South Korea ..."). To test
whether a model localizes from the *language alone*, :func:`neutralize` deletes that mention
with ordered, per-language regular-expression rules written against the real questions:

- a locative/origin phrase is dropped with its particle or preposition
  ("대한민국에서 ", "在中国，", " en España", " στην Ελλάδα", "درایران", "في الجزائر",
  "Azərbaycanda ", "অসমত", "በኢትዮጵያ", " a Arewacin Najeriya", " in South Korea");
- a possessive/genitive becomes a plain definite noun phrase
  ("South Korea's maternity leave" -> "the maternity leave", "대한민국의 광복절" -> "광복절");
- a demonym becomes "people" ("中国人" -> "人们", "los españoles" -> "las personas") or, as an
  adjective, is dropped ("la dieta española" -> "la dieta");
- "food from <country>" becomes "local food" where dropping it would change the question;
- the result is tidied: spaces, stray commas, the first letter's case.

A neutral question is one where :func:`mentions_region` finds no name, demonym or "your
country" phrase of the region. The rules are fitted to BLEnD's 262 questions per region and
every uncommon edit was read by hand; ``prompts/README.md`` reports the rates per region.
New questions may need new rules: check the ``neutralized`` flag.
"""

from __future__ import annotations

import re
from functools import cache

# Region names (regular-expression alternatives) in English, for the English translations.
_ENGLISH_NAMES: dict[str, str] = {
    "UK": r"(?:the\s+)?(?:UK|United Kingdom|Britain)",
    "US": r"(?:the\s+)?(?:US|USA|United States|America)",
    "South_Korea": r"South Korea",
    "North_Korea": r"North Korea",
    "China": r"China",
    "Spain": r"Spain",
    "Mexico": r"Mexico",
    "Indonesia": r"Indonesia",
    "West_Java": r"West Java",
    "Greece": r"Greece",
    "Iran": r"Iran",
    "Algeria": r"Algeria",
    "Assam": r"Assam",
    "Azerbaijan": r"Azerbaijan",
    "Ethiopia": r"Ethiopia",
    "Northern_Nigeria": r"(?:Northern|North)\s+Nigeria",
}

# Region names in the region's own language (UK and US use the English names).
_LOCAL_NAMES: dict[str, str] = {
    "South_Korea": r"(?:대한민국|한국)",
    "North_Korea": r"(?:북한|조선)",
    "China": r"中国",
    "Spain": r"España",
    "Mexico": r"México",
    "Indonesia": r"Indonesia",
    "West_Java": r"Jawa\s+Barat",
    "Greece": r"Ελλάδ(?:α|ας)",
    "Iran": r"ایران",
    "Algeria": r"الجزائر",
    "Assam": r"অসম",
    "Azerbaijan": r"Azərbaycan",
    "Ethiopia": r"ኢትዮጵያ",
    "Northern_Nigeria": r"(?:Arewacin\s+)?Najeriya",
}

# Demonyms, adjectives and phrases that still point at the region ("your country").
_LOCAL_GIVEAWAYS: dict[str, str] = {
    "Spain": r"español\w*",
    "Mexico": r"mexican\w*",
    "Greece": r"(?:Έλλην\w*|ελληνικ\w*)",
    "Iran": r"کشور\s*شما",
    "Algeria": r"جزائري\w*",
    "West_Java": r"Sunda\w*",
}

# Ordered (pattern, replacement) rules per language. "{C}" stands for the region's names,
# "{D}" for its other giveaways (a never-matching pattern where there are none).
_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        (r"^In {C},\s*", ""),
        (r"\bfood (?:original )?from {C}", "local food"),
        (r"\b{C}'s\b", "the"),
        (r"\s+(?:in|from|of|for|at|across|within|throughout)\s+{C}\b", ""),
        (r"\s*\b{C}\b\s*", " "),
    ),
    "ko": (
        (r"한국식\s*나이\s*\(세는\s*나이\)", "세는 나이"),
        (r"{C} 음식을 제외하고", "자국 음식을 제외하고"),
        (r"판매(되는|하는) {C} 음식", r"판매\1 자국 음식"),
        (r"{C}(?:에서는|에서의|에서|에는|에게|의|은|는|이|가|과|와|을|를)?\s*", ""),
    ),
    "zh": (
        (r"源自{C}的食物", "本国食物"),
        (r"{C}食物", "本国食物"),
        (r"在{C}[，,]\s*", ""),
        (r"在{C}的?", ""),
        (r"{C}人民?", "人们"),
        (r"{C}的?", ""),
    ),
    "es": (
        (r"^En {C},\s*", ""),
        (r"\bcomida (?:originaria )?de {C}", "comida local"),
        (r"\blos {D}\b", "las personas"),
        (r"\s+(?:en|de|para|desde|a)\s+{C}\b", ""),
        (r"\s+{D}\b", ""),
    ),
    "id": (
        (r"^Di {C},\s*", ""),
        (r"\bmewakili {C}", "paling khas"),
        (r"\b(orang|masyarakat|warga|rakyat|penduduk)\s+{C}\b", r"\1"),
        (r"\s+(?:di seluruh|di|dari|ke|untuk|bagi)\s+{C}\b", ""),
        (r"\s+{C}\b", ""),
    ),
    "su": (
        (r"^Di {C},\s*", ""),
        (r"\bngawakilan {C}", "ngawakilan daérah"),
        (r"\burang\s+(?:{C}|{D})\b", "jalma"),
        (r"\s+(?:di|ti|ka|pikeun|kanggo)\s+{C}\b", ""),
        (r"\s+{C}\b", ""),
    ),
    "el": (
        (r"^Στην {C},?\s*", ""),
        (r"\bοι Έλληνες\b", "οι άνθρωποι"),
        (r"\bτους Έλληνες\b", "τους ανθρώπους"),
        (r"\bτων Ελλήνων\b", "των ανθρώπων"),
        (r"\s*(?:στην|στη|από την|για την|με την|της|σε όλη την)\s+{C}\b", ""),
        (r"\s+{D}\b", ""),
    ),
    "fa": (
        (r"(?:در\s*)?{D}\s*", ""),
        (r"ایرانیان", "مردم"),
        (r"\s*ایرانی\b", ""),
        (r"(?:در|از|به|برای)\s*{C}\s*", ""),
        (r"\s*{C}\s*", " "),
    ),
    "ar": (
        (r"\s*\(عدا {C}\)", ""),
        (r"\s*(?:بالنسبة\s+)?للجزائر\b", ""),
        (r"للجزائريين", "للناس"),
        (r"(لدى|عند|بين)\s+الجزائريين", r"\1 الناس"),
        (r"الجزائريون", "الناس"),
        (r"\s*(?:في|من|داخل|إلى)\s+{C}", ""),
        (r"\s*(?:ب|ل){C}", ""),
        (r"\s+ال{D}", ""),
        (r"\s*{C}", ""),
    ),
    "az": (
        (r"\b{C}dan olan yeməklərdən", "yerli yeməklərdən"),
        (r"\b{C}dan gələnlər\b", "insanlar"),
        (r"\b{C} insanları\b", "insanlar"),
        (r"\b{C} insanlarının\b", "insanların"),
        (r"\b{C}lılar\b", "insanlar"),
        (r"\b{C}(?:dan olan|dakı|da|dan|ın|lı|a| üçün)?\s+", ""),
    ),
    "as": (
        (r"{C}ী(?:\u09af\u09bc|\u09df)া? খাদ্য", "স্থানীয় খাদ্য"),
        (r"{C}(?:ী(?:\u09af\u09bc|\u09df)া?|ত|ৰ|তো)?,?\s*", ""),
    ),
    "am": (
        (r"ከ{C} ከተመረተ ምግብ", "ከአገር ውስጥ ምግብ"),
        (r"(?:በ)?{C}\s+(?:ውስጥ|ወስጥ)\s*", ""),
        (r"{C}(?:ውያን|ዊያን|ዊት|ዊ)\s+(?=ቤተሰቦች|ሴቶች|ወንዶች|ተማሪዎች)", ""),
        (r"{C}(?:ውያን|ዊያን)", "ሰዎች"),
        (r"(?:በ|የ|ከ|ለ)?{C}(?:ዊ)?\s*", ""),
    ),
    "ha": (
        (r"\s+a\s+(?:cikin\s+)?{C}", ""),
        (r"\s+'yan\s+{C}", ""),
        (r"ɗaliban\s+{C}", "ɗalibai"),
        (r"\b(\w+)[nr]\s+{C}", r"\1"),
        (r"\s+na\s+{C}", ""),
    ),
}

_NEVER = r"(?!x)x"
_TURKIC = frozenset({"az", "tr"})


def neutralize(question: str, language: str, region: str) -> tuple[str, bool]:
    """Remove mentions of ``region`` from a ``language`` question.

    Returns the rewritten question and whether it is free of any mention of the region
    (also True for a question that never named it). A question no rule applies to, as in a
    language without rules, comes back as it is.
    """
    text = question
    for pattern, replacement in _compiled(language, region):
        text = pattern.sub(replacement, text)
    if text != question:
        text = _tidy(text, question, language)
    return text, not mentions_region(text, language, region)


def mentions_region(text: str, language: str, region: str) -> bool:
    """Whether ``text`` names ``region`` in ``language``, or uses a demonym or other giveaway."""
    return _mention_pattern(language, region).search(text) is not None


@cache
def _compiled(language: str, region: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    names, giveaways = _names(language, region)
    return tuple(
        (re.compile(pattern.format(C=names, D=giveaways)), replacement)
        for pattern, replacement in _RULES.get(language, ())
    )


@cache
def _mention_pattern(language: str, region: str) -> re.Pattern[str]:
    names, giveaways = _names(language, region)
    if language == "en":  # "US" must not match inside "USB"
        names = rf"\b(?:{names})\b"
    return re.compile(rf"{names}|{giveaways}")


def _names(language: str, region: str) -> tuple[str, str]:
    """The region's name pattern and giveaway pattern in ``language``."""
    if language == "en":
        return _ENGLISH_NAMES.get(region, _NEVER), _NEVER
    return _LOCAL_NAMES.get(region, _NEVER), _LOCAL_GIVEAWAYS.get(region, _NEVER)


def _tidy(text: str, original: str, language: str) -> str:
    """Collapse spaces, drop punctuation left dangling, restore the first letter's case."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([?？,，.。;:؟،)])", r"\1", text)
    text = re.sub(r"^[,，、،]\s*", "", text)
    text = re.sub(r"^¿\s+", "¿", text)
    if not _starts_upper(original):
        return text
    index = next((i for i, char in enumerate(text) if char.isalnum()), None)
    if index is None or not text[index].isalpha():
        return text
    return text[:index] + _upper(text[index], language) + text[index + 1 :]


def _starts_upper(text: str) -> bool:
    first = next((char for char in text if char.isalnum()), "")
    return first.isupper()


def _upper(char: str, language: str) -> str:
    return "İ" if char == "i" and language in _TURKIC else char.upper()
