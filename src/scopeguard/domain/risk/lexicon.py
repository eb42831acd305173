"""Finding a lexicon's phrases in text, in any word form, and telling English from Russian.

A lexicon is a list of phrases per kind (vague wording, urgency, a request for
another manager…). A phrase is words, optionally with ``*`` (or ``…``) standing
for up to three words of any kind: ``make * pop`` finds "make it pop" and "make
the banner pop". Words match in any of their forms: the domain does not know
grammar, it asks a :class:`WordForms` (the morphology adapter: dictionary lemmas
of Russian words from pymorphy3, Snowball stems of English ones) for the keys a
word matches under, and a text word matches a phrase word when they share one.
So «сделайте душевно» finds «сделать душевнее», and "can we get someone else"
finds "could we get somebody else" only if the lexicon says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol

Language = Literal["en", "ru"]

_WORD = re.compile(r"[^\W_]+")
"""A word: a run of letters and digits (hyphens, apostrophes and underscores split words)."""
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_GAP_WORDS = 3
"""How many words of any kind one ``*`` in a phrase stands for, at most."""
_GAP_MARKS = frozenset({"*", "…", "..."})
_CACHE_LIMIT = 500_000
"""Distinct words whose forms are remembered; beyond it forms are recomputed (memory bound)."""
_RECENT_TEXTS = 4096
"""Texts whose matches are remembered (then forgotten all at once): a comment is read by
several signals one after another."""


class WordForms(Protocol):
    """What the domain needs from morphology: the keys a word matches under."""

    def forms(self, word: str) -> frozenset[str]:
        """The keys of ``word`` (casefolded by the caller): its lemmas or stems, namespaced
        by language, so that two forms of one word share at least one key."""
        ...


class LexiconKind(StrEnum):
    """What a phrase of the lexicon says about the text it is found in."""

    VAGUE = "vague"
    """Taste instead of a requirement: "make it pop", «чтобы глаза горели»."""
    UNDOCUMENTED = "undocumented"
    """Points to something never written down: "as discussed", «как обсуждали»."""
    URGENT = "urgent"
    """Pressure: "ASAP", «срочно»."""
    DEADLINE = "deadline"
    """Names a date or day: "by Friday", «до понедельника», "tomorrow"."""
    ACCEPTANCE = "acceptance"
    """Introduces acceptance criteria: "acceptance criteria", «критерии приёмки»."""
    PM_CHANGE = "pm_change"
    """Asks for another manager or person: «давайте сменим менеджера»."""


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Phrases per kind, as written: the shipped files plus the configuration's ``risk.lexicon``."""

    phrases: Mapping[LexiconKind, tuple[str, ...]] = field(default_factory=dict)

    def extended(self, extra: Mapping[LexiconKind, Iterable[str]]) -> Lexicon:
        """This lexicon with ``extra`` phrases added to their kinds (duplicates dropped)."""
        merged: dict[LexiconKind, tuple[str, ...]] = {}
        for kind in LexiconKind:
            seen: dict[str, None] = {}
            for phrase in (*self.phrases.get(kind, ()), *extra.get(kind, ())):
                cleaned = " ".join(phrase.split())
                if cleaned:
                    seen.setdefault(cleaned, None)
            if seen:
                merged[kind] = tuple(seen)
        return Lexicon(merged)


@dataclass(frozen=True, slots=True)
class Match:
    """One phrase found in a text: where (character offsets into the text), as written there."""

    kind: LexiconKind
    start: int
    end: int
    text: str
    """The matched words as the text writes them."""
    phrase: str
    """The lexicon's phrase that matched."""


_Slot = frozenset[str] | int
"""A phrase word (its keys) or a gap (how many words it may skip)."""


@dataclass(frozen=True, slots=True)
class _Phrase:
    kind: LexiconKind
    text: str
    slots: tuple[_Slot, ...]
    words: tuple[frozenset[str], ...]
    """The word slots after the first (the first is known present when it is tried)."""


class PhraseMatcher:
    """A lexicon compiled against a :class:`WordForms`; finds its phrases in texts.

    Build one per lexicon and reuse it: it remembers each distinct word's forms,
    and tells from the set of a text's words alone (set operations, no loop over
    the words) whether the text can contain a phrase at all, so the many texts
    that cannot are passed over quickly.
    """

    def __init__(self, lexicon: Lexicon, forms: WordForms) -> None:
        self._forms = forms
        self._cache: dict[str, frozenset[str]] = {}
        self._phrases: list[_Phrase] = []
        self._first: dict[str, list[int]] = {}
        for kind in LexiconKind:
            for text in lexicon.phrases.get(kind, ()):
                slots = self._compile(text)
                if not slots:
                    continue
                index = len(self._phrases)
                words = tuple(slot for slot in slots[1:] if not isinstance(slot, int))
                self._phrases.append(_Phrase(kind, text, slots, words))
                first = slots[0]
                assert not isinstance(first, int)
                for key in first:
                    self._first.setdefault(key, []).append(index)
        self._starts: dict[str, tuple[int, ...]] = {}
        """Word as written → the phrases it can start (most words: none)."""
        self._triggers: dict[LexiconKind, set[str]] = {kind: set() for kind in LexiconKind}
        self._any: set[str] = set()
        self._recent: dict[str, tuple[Match, ...]] = {}

    def _compile(self, phrase: str) -> tuple[_Slot, ...]:
        slots: list[_Slot] = []
        for part in phrase.split():
            if part in _GAP_MARKS:
                if slots and not isinstance(slots[-1], int):
                    slots.append(_GAP_WORDS)
                continue
            for word in _WORD.findall(part):
                slots.append(self.keys(word))
        while slots and isinstance(slots[-1], int):
            slots.pop()
        return tuple(slots)

    def keys(self, word: str) -> frozenset[str]:
        """The keys ``word`` matches under (remembered per distinct word)."""
        known = self._cache.get(word)
        if known is None:
            known = self._forms.forms(word.casefold())
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[word] = known
        return known

    def _learn(self, words: set[str]) -> None:
        """Remember, for each new word, which phrases it can start."""
        # A loop, not ``words - self._starts.keys()``: that would copy every known word.
        for word in [w for w in words if w not in self._starts]:
            indices = sorted(
                {index for key in self.keys(word) for index in self._first.get(key, ())}
            )
            for index in indices:
                self._triggers[self._phrases[index].kind].add(word)
            if indices:
                self._any.add(word)
            if len(self._starts) < _CACHE_LIMIT:
                self._starts[word] = tuple(indices)

    def _starting(self, word: str) -> tuple[int, ...]:
        known = self._starts.get(word)
        if known is None:
            self._learn({word})
            known = self._starts.get(word)
        if known is None:  # the memory bound was reached: compute without remembering
            return tuple(
                sorted({index for key in self.keys(word) for index in self._first.get(key, ())})
            )
        return known

    def may_contain(self, text: str, kinds: Collection[LexiconKind] | None = None) -> bool:
        """False when no phrase (of ``kinds``) can be in ``text``; True means "look closer"."""
        words = set(_WORD.findall(text))
        self._learn(words)
        wanted = LexiconKind if kinds is None else kinds
        return any(not words.isdisjoint(self._triggers[kind]) for kind in wanted)

    def find(self, text: str, kinds: Collection[LexiconKind] | None = None) -> list[Match]:
        """Every phrase (of ``kinds``, default all) in ``text``, in reading order.

        Where phrases of one kind overlap, the one that starts first wins, and
        of those the longest: "make it pop more" is one vague phrase, not two.
        The answer for a text is remembered for a while, so the several signals
        that read one comment analyse it once.
        """
        found = self._recent.get(text)
        if found is None:
            # Every kind at once, remembered: the signals that read one comment ask for
            # different kinds, and one pass over its words answers them all.
            found = self._find_all(text)
            if len(self._recent) >= _RECENT_TEXTS:
                self._recent.clear()
            self._recent[text] = found
        if kinds is None:
            return list(found)
        return [match for match in found if match.kind in kinds]

    def _find_all(self, text: str) -> tuple[Match, ...]:
        if not text:
            return ()
        words = set(_WORD.findall(text))
        if not words <= self._starts.keys():  # a subset test in C: most words are known
            self._learn(words)
        # Only words that can start a phrase are tried: many texts have none (a set
        # intersection in C), and nothing more is done for them.
        starters = words & self._any
        if not starters:
            return ()
        tokens = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
        present: set[str] | None = None
        viable: dict[int, bool] = {}
        found: list[Match] = []
        for position, (start, _end, word) in enumerate(tokens):
            if word not in starters:
                continue
            for index in self._starting(word):
                phrase = self._phrases[index]
                able = viable.get(index)
                if able is None:
                    # A phrase can only match when every one of its words is somewhere in
                    # the text; that check spares most attempts that start at "a" or "as".
                    if present is None:
                        present = set()
                        for each in words:
                            present.update(self.keys(each))
                    able = viable[index] = all(
                        not slot.isdisjoint(present) for slot in phrase.words
                    )
                if not able:
                    continue
                last = _match_from(phrase.slots, tokens, position, self.keys)
                if last is not None:
                    end = tokens[last][1]
                    found.append(Match(phrase.kind, start, end, text[start:end], phrase.text))
        return tuple(_without_overlaps(found)) if len(found) > 1 else tuple(found)

    def contains(self, text: str, kind: LexiconKind) -> bool:
        """Whether a phrase of ``kind`` occurs in ``text``."""
        return bool(self.find(text, (kind,)))


def _match_from(
    slots: tuple[_Slot, ...],
    tokens: list[tuple[int, int, str]],
    position: int,
    keys: Callable[[str], frozenset[str]],
) -> int | None:
    """The index of the last token of a match of ``slots`` starting at ``position``, or None.

    A gap may skip 0 to its number of words; the shortest match wins. Word keys
    are looked up only for the tokens a phrase reaches.
    """

    def walk(slot: int, at: int) -> int | None:
        if slot == len(slots):
            return at - 1
        current = slots[slot]
        if isinstance(current, int):
            for skip in range(current + 1):
                found = walk(slot + 1, at + skip)
                if found is not None:
                    return found
            return None
        if at < len(tokens) and not current.isdisjoint(keys(tokens[at][2])):
            return walk(slot + 1, at + 1)
        return None

    return walk(0, position)


def _without_overlaps(found: list[Match]) -> list[Match]:
    kept: list[Match] = []
    reach: dict[LexiconKind, int] = {}
    for match in sorted(found, key=lambda m: (m.start, -(m.end - m.start), m.kind)):
        if match.start < reach.get(match.kind, -1):
            continue
        kept.append(match)
        reach[match.kind] = match.end
    return kept


def language_of(text: str) -> Language:
    """``ru`` when most letters of ``text`` are Cyrillic, else ``en``.

    ScopeGuard's lexicons are English and Russian; the script decides honestly
    between the two (and a text with no letters at all reads as English).
    """
    cyrillic = len(_CYRILLIC.findall(text))
    latin = len(_LATIN.findall(text))
    return "ru" if cyrillic > latin else "en"


def words(text: str) -> int:
    """How many words ``text`` has."""
    return len(_WORD.findall(text))


def excerpt(text: str, start: int, end: int, width: int = 80) -> tuple[str, int, int]:
    """A piece of ``text`` around ``[start, end)`` at most about ``width`` characters either side.

    Returns the piece and the span's offsets inside it. Cut ends are marked with
    ``…`` and fall on word boundaries where one is near.
    """
    left = max(0, start - width)
    right = min(len(text), end + width)
    if left > 0:
        space = text.find(" ", left, start)
        left = space + 1 if space != -1 else left
    if right < len(text):
        space = text.rfind(" ", end, right)
        right = space if space != -1 else right
    prefix = "…" if left > 0 else ""
    suffix = "…" if right < len(text) else ""
    piece = prefix + " ".join(text[left:right].split("\n")) + suffix
    offset = len(prefix) - left
    return piece, start + offset, end + offset


def quote(text: str, limit: int = 200) -> str:
    """``text`` on one line, cut after about ``limit`` characters at a word boundary."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat.rfind(" ", 0, limit)
    return flat[: cut if cut > limit // 2 else limit] + "…"


def marked(
    text: str, matches: list[Match], width: int = 80
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A piece of ``text`` around its first match, with the spans of the matches inside it."""
    first = matches[0]
    piece, start, _end = excerpt(text, first.start, first.end, width)
    offset = start - first.start
    marks = tuple(
        (m.start + offset, m.end + offset)
        for m in matches
        if m.start + offset >= 0 and m.end + offset <= len(piece)
    )
    return piece, marks
