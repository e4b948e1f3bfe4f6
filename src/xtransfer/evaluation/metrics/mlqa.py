"""MLQA answer normalisation: per-language articles, Unicode punctuation, zh segmentation.

Semantics of MLQA's official evaluation script (as vendored by XTREME), step by step:

1. lower-case;
2. delete every punctuation character: ``string.punctuation`` plus every code point below
   ``sys.maxunicode`` whose Unicode category starts with ``P`` (so ``«»¿¡、。「」`` go too);
3. delete the language's articles: en a/an/the; es un/una/unos/unas/el/la/los/las; de
   ein/eine/einen/einem/eines/einer/der/die/das/den/dem/des; vi của/là/cái/chiếc/những (all as
   whole words); ar every occurrence of the letters ``ال``, even inside a word (the official
   pattern is not anchored, so this is what it computes); hi and zh have none;
4. tokenise: whitespace for en/es/de/ar/hi/vi; for zh every CJK ideograph in U+4E00..U+9FA5 (the
   official range, not the whole block) and every punctuation character is its own token, other
   runs are split on whitespace;
5. rejoin with single spaces.

Any other language has no rules: that is an input error, as in the official script.
"""

from __future__ import annotations

import re
import string
import sys
import unicodedata
from collections.abc import Callable
from functools import cache

from xtransfer.errors import UserError


@cache
def unicode_punctuation() -> frozenset[str]:
    """ASCII punctuation plus every character whose Unicode category is P*.

    The official set iterates ``range(sys.maxunicode)``, i.e. it stops one short of U+10FFFF
    (unassigned anyway). Cached: scanning 1.1M code points costs a few tenths of a second.
    """
    unicode_p = (chr(i) for i in range(sys.maxunicode))
    return frozenset(c for c in unicode_p if unicodedata.category(c).startswith("P")) | frozenset(
        string.punctuation
    )


_ARTICLES: dict[str, re.Pattern[str] | None] = {
    "en": re.compile(r"\b(a|an|the)\b"),
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    # Unanchored on purpose: it reproduces the official pattern, whose only effective branch
    # replaces the two letters alef-lam wherever they occur.
    "ar": re.compile("ال"),
    "hi": None,
    "zh": None,
}
_WHITESPACE_LANGS = frozenset({"en", "es", "hi", "vi", "de", "ar"})
_MIXED_SEGMENTATION_LANGS = frozenset({"zh"})
_CJK = re.compile("[\u4e00-\u9fa5]")

MLQA_LANGUAGES = tuple(sorted(_ARTICLES))


def mixed_segmentation(text: str) -> list[str]:
    """zh tokens: each CJK ideograph or punctuation character alone, other runs split on spaces."""
    punct = unicode_punctuation()
    tokens: list[str] = []
    pending = ""
    for char in text:
        if _CJK.match(char) or char in punct:
            tokens.extend(pending.split())
            pending = ""
            tokens.append(char)
        else:
            pending += char
    tokens.extend(pending.split())
    return tokens


def normalize_answer(text: str, lang: str) -> str:
    """The MLQA normalisation of ``text`` for language ``lang`` (see the module docstring)."""
    if lang not in _ARTICLES:
        raise UserError(
            f"MLQA has no normalisation rules for language {lang!r} "
            f"(known: {', '.join(MLQA_LANGUAGES)})"
        )
    punct = unicode_punctuation()
    text = "".join(ch for ch in text.lower() if ch not in punct)
    articles = _ARTICLES[lang]
    if articles is not None:
        text = articles.sub(" ", text)
    if lang in _MIXED_SEGMENTATION_LANGS:
        tokens = mixed_segmentation(text)
    else:
        assert lang in _WHITESPACE_LANGS
        tokens = text.split()
    return " ".join(t for t in tokens if t.strip())


@cache
def normalizer_for(lang: str) -> Callable[[str], str]:
    """A one-argument normaliser for ``lang``; raises UserError for a language without rules."""
    if lang not in _ARTICLES:
        normalize_answer("", lang)  # raises the UserError with the list of known languages

    def normalize(text: str) -> str:
        return normalize_answer(text, lang)

    return normalize
