"""Offline language identification of a question, to pick its LOC-steering profile.

Three kinds of evidence are combined:

* **Script.** Letters are counted per Unicode script. Hangul, Han, Greek and Ethiopic text is
  written by exactly one supported language, so the script alone decides (no model is loaded).
  Han text with any kana is Japanese, which is not supported.
* **py3langid** (a byte n-gram naive-Bayes model over 140 languages) decides between the
  candidates that share a script: Latin (en es id az ha su), Arabic (ar fa) and Bengali (as).
  Its probabilities are renormalized over those candidates; if they hold almost no probability
  mass the text is in some other language of that script (French, Turkish, Bengali...).
* **Sundanese words.** py3langid does not know Sundanese; it files Sundanese text under its
  Indonesian, Javanese and Malay classes. The share of frequent Sundanese words (from general
  knowledge of the language) decides how much of that probability is Sundanese.

A question of one or two words in a shared script is left undecided: names and loanwords
("Taxi Jakarta") look alike in many languages. Whenever the result is unsure, ``language`` is
None and callers answer without LOC steering.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

from surgsteer_cli.errors import SurgsteerError

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier


class Language(NamedTuple):
    """A detectable language: English name, script (first word of its letters' Unicode names)."""

    name: str
    script: str


LANGUAGES: dict[str, Language] = {
    "en": Language("English", "LATIN"),
    "es": Language("Spanish", "LATIN"),
    "id": Language("Indonesian", "LATIN"),
    "az": Language("Azerbaijani", "LATIN"),
    "ha": Language("Hausa", "LATIN"),
    "su": Language("Sundanese", "LATIN"),
    "ar": Language("Arabic", "ARABIC"),
    "fa": Language("Persian", "ARABIC"),
    "as": Language("Assamese", "BENGALI"),
    "ko": Language("Korean", "HANGUL"),
    "zh": Language("Chinese", "CJK"),
    "el": Language("Greek", "GREEK"),
    "am": Language("Amharic", "ETHIOPIC"),
}

_ISO_639_1 = (
    "aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv "
    "cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho "
    "hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku "
    "kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn "
    "no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg sh si sk sl "
    "sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve "
    "vi vo wa wo xh yi yo za zh zu"
)
ISO_639_1 = frozenset(_ISO_639_1.split())
"""Every ISO 639-1 code: ``--lang`` accepts these (unsteered without a profile)."""

COUNTRY_SLIPS = {"kr": "ko", "cn": "zh", "gr": "el", "ir": "fa"}
"""Country codes typed for a supported language's code: refused with the suggestion, even
``kr`` (also Kanuri's ISO 639-1 code, which has no profile and is never detected)."""

DEFAULT_LANGUAGES: tuple[str, ...] = ("en", "ko", "zh", "es", "id", "el", "fa", "ar", "az")
"""Candidates when the caller names none: English plus the languages of the shipped profiles."""

MIN_CONFIDENCE = 0.7
"""Below this confidence the language is reported as unknown (None). Chosen on BMLAMA facts
cut to their first 3 words: at 0.7, 2% get a wrong language (6% at 0.5); full facts >99% right."""

SHARED_SCRIPTS = frozenset({"LATIN", "ARABIC", "BENGALI"})
"""Scripts written by many languages: py3langid decides, even for a single candidate."""

MIN_WORDS = 3
"""Fewer words than this in a shared script carry too little evidence to tell languages apart."""

MIN_CANDIDATE_MASS = 0.05
"""py3langid probability the candidates must hold together, else the text is another language."""

SUNDANESE_NEIGHBOURS = ("id", "jv", "ms")
"""py3langid classes that absorb Sundanese text; the Sundanese word score takes its share."""

SUNDANESE_WORDS = frozenset(
    """
    naon saha iraha kumaha sabaraha naha nu anu teh mah jeung sareng kana dina tina keur
    kanggo pikeun ieu eta teu henteu moal acan geus parantos sok oge ayeuna kitu kieu lamun
    upami atawa atanapi nyaeta mangrupa mangrupakeun urang abdi anjeun manehna maranehna pisan
    loba seueur rea leutik gede ageung dupi kedah tiasa bade biasana umumna sapertos siga kawas
    nalika dieu ditu dinya wae bari tuluy samemeh sanggeus dugi nepi ngan ukur sadaya sadayana
    sakabeh unggal hiji handap luhur nanaon mangga nuhun sae hade alus kacida teuing meureun
    panginten sangkan ngarah jalma imah indung lalaki awewe sakola dahar nginum cai sangu poe
    peuting isuk nagara kulawarga baraya
    """.split()  # noqa: SIM905 (a word list reads best as text)
)
"""Frequent Sundanese words (accents removed) that Indonesian does not use."""

SUNDANESE_TYPICAL_SHARE = 0.25
"""Share of SUNDANESE_WORDS in ordinary Sundanese sentences; this share or more scores 1.0."""

_WORD = re.compile(r"[^\W\d_]+")
_KANA = ("HIRAGANA", "KATAKANA")


@dataclass(frozen=True)
class Detection:
    """The detected language (None when unknown or unsure) and the confidence in the best guess."""

    language: str | None
    confidence: float


def check_languages(codes: Iterable[str]) -> tuple[str, ...]:
    """Return the codes as a tuple; raise SurgsteerError if none are given or any is unknown."""
    codes = tuple(codes)
    if not codes:
        raise SurgsteerError("no candidate languages given")
    unsupported = sorted(set(codes) - LANGUAGES.keys())
    if unsupported:
        raise SurgsteerError(
            f"cannot detect language(s) {', '.join(unsupported)}; "
            f"supported: {', '.join(sorted(LANGUAGES))}"
        )
    return codes


def detect(text: str, candidates: Collection[str]) -> Detection:
    """Detect which of the candidate languages (ISO 639-1 codes) ``text`` is written in."""
    check_languages(candidates)
    letters = _letters_per_script(text)
    if not letters:
        return Detection(None, 0.0)
    script, count = letters.most_common(1)[0]
    share = count / letters.total()
    group = [code for code in candidates if LANGUAGES[code].script == script]
    if not group:
        return Detection(None, 0.0)
    if script not in SHARED_SCRIPTS:  # written by this one candidate alone
        return _decision(group[0], share)
    words = _WORD.findall(text)
    if len(words) < MIN_WORDS:
        return Detection(None, 0.0)
    scores = _scores(text, words, group)
    if not scores:
        return Detection(None, 0.0)
    best = max(scores, key=scores.__getitem__)
    return _decision(best, scores[best] * share)


def _decision(language: str, confidence: float) -> Detection:
    return Detection(language if confidence >= MIN_CONFIDENCE else None, confidence)


def _letters_per_script(text: str) -> Counter[str]:
    """Letters per script; Han letters count as Japanese when the text has any kana."""
    counts = Counter(  # "KATAKANA-HIRAGANA PROLONGED SOUND MARK" counts as KATAKANA
        unicodedata.name(char, "?").split(" ")[0].split("-")[0]
        for char in unicodedata.normalize("NFKC", text)
        if unicodedata.category(char).startswith("L")
    )
    if any(counts[kana] for kana in _KANA):
        counts["JAPANESE"] = counts.pop("CJK", 0) + sum(counts.pop(kana, 0) for kana in _KANA)
    return counts


def _scores(text: str, words: list[str], group: list[str]) -> dict[str, float]:
    """py3langid's probabilities (Sundanese: see SUNDANESE_NEIGHBOURS) renormalized over the
    group of candidates; empty if they hold too little of py3langid's probability."""
    probabilities = dict(_identifier().rank(text))
    known = {code: probabilities[code] for code in group if code in probabilities}
    if "su" in group:
        sundanese = _sundanese_score(words)
        known["su"] = sundanese * sum(probabilities[label] for label in SUNDANESE_NEIGHBOURS)
        if "id" in known:
            known["id"] *= 1 - sundanese
    mass = sum(known.values())
    if mass < MIN_CANDIDATE_MASS:
        return {}
    return {code: p / mass for code, p in known.items()}


def _sundanese_score(words: list[str]) -> float:
    """Share of Sundanese function words, relative to their typical share (capped at 1)."""
    plain = (_strip_accents(word.lower()) for word in words)
    share = sum(word in SUNDANESE_WORDS for word in plain) / len(words)
    return min(1.0, share / SUNDANESE_TYPICAL_SHARE)


def _strip_accents(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


@cache
def _identifier() -> LanguageIdentifier:
    """The py3langid model with normalized probabilities, loaded once (about a second)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
