"""The lexicons ScopeGuard ships: phrases per kind and language, as package data.

Each kind has one plain-text file per language, ``<kind>.<language>.txt`` in
this folder: one phrase a line, ``#`` starts a comment, ``*`` stands for up to
three words. Phrases match in any word form (see
:mod:`scopeguard.domain.risk.lexicon`). The configuration's ``risk.lexicon``
adds phrases to these; :func:`shipped_lexicon` reads only the files.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from scopeguard.domain.risk.lexicon import Lexicon, LexiconKind

LANGUAGES = ("en", "ru")


def _phrases(text: str) -> list[str]:
    phrases = []
    for line in text.splitlines():
        phrase = line.split("#", 1)[0].strip()
        if phrase:
            phrases.append(phrase)
    return phrases


@cache
def shipped_lexicon() -> Lexicon:
    """Every shipped phrase, by kind (English and Russian together)."""
    folder = files(__package__)
    found: dict[LexiconKind, list[str]] = {}
    for kind in LexiconKind:
        for language in LANGUAGES:
            resource = folder.joinpath(f"{kind.value}.{language}.txt")
            found.setdefault(kind, []).extend(_phrases(resource.read_text(encoding="utf-8")))
    return Lexicon().extended(found)
