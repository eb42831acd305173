"""Word forms for the lexicon matcher: pymorphy3 lemmas for Russian, Snowball stems for English.

:class:`Morphology` implements the domain's
:class:`~scopeguard.domain.risk.lexicon.WordForms`. A Cyrillic word's keys are
the normal forms of *every* analysis pymorphy3 gives it (its OpenCorpora
dictionary from the ``pymorphy3-dicts-ru`` package, with its guesser for words
the dictionary lacks), so «душевно» (an adverb, and the short form of
«душевный») matches both «душевно» and «душевный». A Latin word's key is its
Snowball English stem ("popping" → "pop"). Other words match only themselves.
Keys carry the language (``ru:``, ``en:``) so the two never collide.

Loading the dictionaries reads package data, which is why this lives here and
not in the domain; :func:`morphology` loads them once per process.
"""

from __future__ import annotations

import re
from functools import cache

import pymorphy3
import snowballstemmer

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"^[a-z\u00c0-\u024f]+$")


class Morphology:
    """Keys of words in any form (see the module's docstring)."""

    def __init__(self) -> None:
        self._russian = pymorphy3.MorphAnalyzer(lang="ru")
        self._english = snowballstemmer.stemmer("english")

    def forms(self, word: str) -> frozenset[str]:
        """The keys of a casefolded word."""
        if _CYRILLIC.search(word):
            # «ё» is written as «е» as often as not; the dictionary knows both.
            lemmas = {parse.normal_form.replace("ё", "е") for parse in self._russian.parse(word)}
            return frozenset(f"ru:{lemma}" for lemma in lemmas)
        if _LATIN.match(word):
            return frozenset({f"en:{self._english.stemWord(word)}"})
        return frozenset({word})


@cache
def morphology() -> Morphology:
    """The process's one :class:`Morphology` (the dictionaries are loaded once)."""
    return Morphology()
