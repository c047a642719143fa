"""BLEnD-style soft exact match of a model's short answer against annotator answers.

:func:`normalize` makes surface variants compare equal: Unicode compatibility forms
(full-width letters and digits, Arabic presentation forms), case (with the Turkic dotted and
dotless i in Azerbaijani), every script's decimal digits mapped to ASCII, punctuation turned
into spaces, accents and Arabic diacritics dropped (kept in Indic scripts such as Assamese,
where combining marks are vowels), Arabic/Persian letter variants unified (alef forms, yeh,
kaf, teh marbuta, tatweel; the Persian half-space becomes a space), collapsed whitespace.

Light lemmatization, only where it fixes mismatches seen in BLEnD's own answers:
- Arabic: a leading definite article (ال, وال, بال, كال, فال, لل) is removed
  ("القمح" and "قمح" both become "قمح");
- English: a plural "-s"/"-ies" is reduced ("peanuts" -> "peanut", "cherries" -> "cherry").
Korean endings are *not* stripped: none of South Korea's 894 annotator answers ends in a
copula, and the North Korean ones ending in "이다" are words ("사이다", cider).

:func:`soft_match` asks whether some normalized annotator answer occurs in the normalized
prediction: as whole words for scripts that separate words with spaces; as a plain substring,
ignoring spaces, for Han, Kana, Hangul and Thai (particles attach to the word, and spacing
varies: "결혼 반지" = "결혼반지"). A number never matches inside a longer number ("2" is not
found in "12"). Answers that would match almost anything are ignored: empty ones, and a
single letter in a space-delimited script (a lone digit is kept: numeric answers are common).
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
_ARABIC_ARTICLE = re.compile(r"(?<!\w)(?:وال|بال|كال|فال|لل|ال)(?=\w{2})")
_ENGLISH_PLURAL = re.compile(r"(?<=\w{2})(?:(?<=[^aeiou])ies|(?<=[^su])s)\b")
# Han, Kana, Hangul, Thai: words are not separated by spaces (or particles glue onto them).
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def normalize(text: str, language: str) -> str:
    """Canonical form of ``text`` for matching (see the module docstring for each step)."""
    text = unicodedata.normalize("NFKC", text)
    if language in _TURKIC:
        text = text.translate(_TURKIC_CAPITALS)
    text = text.casefold().translate(_ARABIC_LETTERS)
    if language not in _KEEP_MARKS:
        text = _strip_marks(text)
    text = "".join(_plain_char(char) for char in text)
    text = " ".join(text.split())
    if language == "ar":
        text = _ARABIC_ARTICLE.sub("", text)
    elif language == "en":
        text = _ENGLISH_PLURAL.sub(lambda m: "y" if m.group() == "ies" else "", text)
    return text


def soft_match(prediction: str, answers: Iterable[str], language: str) -> bool:
    """Whether any non-trivial annotator answer occurs in ``prediction`` after normalization."""
    normalized = normalize(prediction, language)
    compact = normalized.replace(" ", "")
    for answer in answers:
        target = normalize(answer, language)
        if _is_trivial(target):
            continue
        if _UNSPACED.search(target):
            if _find(target.replace(" ", ""), compact, boundary=r"\d"):
                return True
        elif _find(target, normalized, boundary=r"\w"):
            return True
    return False


def _find(needle: str, haystack: str, boundary: str) -> bool:
    """``needle`` in ``haystack``, not glued to a ``boundary`` character where it starts or
    ends with one (``\\w`` for whole words, ``\\d`` for whole numbers)."""
    before = rf"(?<!{boundary})" if re.match(boundary, needle[0]) else ""
    after = rf"(?!{boundary})" if re.match(boundary, needle[-1]) else ""
    return re.search(before + re.escape(needle) + after, haystack) is not None


def _is_trivial(answer: str) -> bool:
    if not answer:
        return True
    return len(answer) == 1 and answer.isalpha() and not _UNSPACED.match(answer)


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(char for char in decomposed if unicodedata.category(char) != "Mn")
    return unicodedata.normalize("NFC", kept)


def _plain_char(char: str) -> str:
    """ASCII for any decimal digit, a space for punctuation and symbols, else the char."""
    digit = unicodedata.decimal(char, None)
    if digit is not None:
        return str(digit)
    return " " if unicodedata.category(char)[0] in "PSZ" else char
