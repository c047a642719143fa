"""BLEnD-style soft exact match of a model's short answer against annotator answers.

:func:`normalize` removes surface differences: Unicode compatibility forms (full-width
letters and digits, Arabic presentation forms), case (with the Turkic dotted and dotless i in
Azerbaijani), every script's decimal digits mapped to ASCII, punctuation and symbols turned
into spaces, accents and Arabic diacritics dropped (kept in Indic scripts such as Assamese,
where combining marks are vowels), Arabic/Persian letter variants unified (alef forms, yeh,
kaf, teh marbuta, tatweel; the Persian half-space becomes a space), collapsed whitespace.
It is idempotent.

:func:`soft_match` asks whether a normalized annotator answer occurs in the normalized
prediction: as whole words for scripts that separate words with spaces; as a plain substring,
ignoring spaces, for Han, Kana, Hangul and Thai (particles attach to the word, and spacing
varies: "결혼 반지" = "결혼반지"). A number never matches inside a longer number ("2" is not
found in "12"). Answers that would match almost anything are ignored: empty ones and a single
letter in a space-delimited script (a lone digit counts: numeric answers are common).

Light morphology, only where BLEnD's own answers disagree with themselves on it:
- Arabic: each word may carry or lack the definite article (ال, وال, بال, كال, فال, لل):
  "القمح" matches "قمح" and the other way round;
- English: each word may carry or lack a plural ending ("peanut" ~ "peanuts",
  "cherry" ~ "cherries").
Korean endings are *not* stripped: none of South Korea's 894 annotator answers ends in a
copula, and North Korean answers ending in "이다" are words ("사이다", cider).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Languages whose combining marks are vowel signs, not accents: keep them.
_KEEP_MARKS = frozenset({"as", "bn", "hi", "mr", "ne", "pa", "gu", "ta", "te", "kn", "ml", "si"})
_TURKIC = frozenset({"az", "tr"})
_TURKIC_CAPITALS = str.maketrans({"I": "ı", "İ": "i"})
_ARABIC_LETTERS = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ی": "ي",  # Persian yeh
        "ک": "ك",  # Persian keheh
        "ة": "ه",
        "ـ": None,  # tatweel
        "\u200c": " ",  # zero-width non-joiner: the Persian half-space
        "\u200d": None,
    }
)
_ARABIC_ARTICLE = "(?:وال|بال|كال|فال|لل|ال)"
# Han, Kana, Hangul, Thai: words are not separated by spaces (or particles glue onto them).
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def normalize(text: str, language: str) -> str:
    """Canonical surface form of ``text`` for matching (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text)
    if language in _TURKIC:
        text = text.translate(_TURKIC_CAPITALS)
    text = text.casefold().translate(_ARABIC_LETTERS)
    if language not in _KEEP_MARKS:
        text = _strip_marks(text)
    return " ".join("".join(_plain_char(char) for char in text).split())


def soft_match(prediction: str, answers: Iterable[str], language: str) -> bool:
    """Whether any non-trivial annotator answer occurs in ``prediction`` after normalization."""
    spaced = normalize(prediction, language)
    unspaced = spaced.replace(" ", "")
    for answer in answers:
        target = normalize(answer, language)
        if _is_trivial(target):
            continue
        if _UNSPACED.search(target):
            found = re.search(_whole_number(target.replace(" ", "")), unspaced)
        else:
            body = " ".join(_word_pattern(word, language) for word in target.split())
            found = re.search(rf"(?<!\S){body}(?!\S)", spaced)
        if found:
            return True
    return False


def _word_pattern(word: str, language: str) -> str:
    """Regex for one answer word, tolerant of the light morphology described above."""
    if language == "ar":
        stem = re.sub(rf"^{_ARABIC_ARTICLE}(?=\w{{2}})", "", word)
        return f"{_ARABIC_ARTICLE}?{re.escape(stem)}"
    if language == "en" and len(word) > 3 and word.isalpha():
        if word.endswith("ies"):
            return f"{re.escape(word[:-3])}(?:y|ies)"
        if word.endswith("y"):
            return f"{re.escape(word[:-1])}(?:y|ies)"
        stem = word[:-1] if word.endswith("s") and not word.endswith(("ss", "us", "is")) else word
        return f"{re.escape(stem)}(?:e?s)?"
    return re.escape(word)


def _whole_number(needle: str) -> str:
    """Regex for ``needle`` as a substring, except that its digits cannot extend a number."""
    before = r"(?<!\d)" if needle[0].isdigit() else ""
    after = r"(?!\d)" if needle[-1].isdigit() else ""
    return before + re.escape(needle) + after


def _is_trivial(answer: str) -> bool:
    if not answer:
        return True
    return len(answer) == 1 and answer.isalpha() and not _UNSPACED.match(answer)


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(char for char in decomposed if unicodedata.category(char) != "Mn")
    return unicodedata.normalize("NFC", kept)


def _plain_char(char: str) -> str:
    """ASCII for any decimal digit, a space for punctuation, symbols and separators."""
    digit = unicodedata.decimal(char, None)
    if digit is not None:
        return str(digit)
    return " " if unicodedata.category(char)[0] in "PSZ" else char
