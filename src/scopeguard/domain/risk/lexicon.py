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
from collections.abc import Collection, Iterable, Mapping
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
    steps: tuple[int, ...]
    """The slots compiled: a word slot is its class's bit (> 0), a gap is minus the number
    of words it may skip (a gap always has a word slot after it)."""
    need: int
    """The bits of every word slot: the phrase can only match a text with all of them."""
    plain: bool
    """No gap: the phrase is a run of consecutive words."""


class PhraseMatcher:
    """A lexicon compiled against a :class:`WordForms`; finds its phrases in texts.

    Build one per lexicon and reuse it: it remembers, for each distinct word,
    which phrase words it matches, as the bits of one integer (one bit per
    distinct phrase word). A text's words are then looked up once and every
    test after that is on integers: whether the text has a word that starts a
    phrase, whether it has all the words of a phrase, whether a phrase matches
    at a position. Most texts are passed over after the look-ups.
    """

    def __init__(self, lexicon: Lexicon, forms: WordForms) -> None:
        self._forms = forms
        self._cache: dict[str, frozenset[str]] = {}
        self._phrases: list[_Phrase] = []
        classes: dict[frozenset[str], int] = {}
        """A distinct phrase word (its keys) → its bit: many phrases share words."""
        starting: dict[int, list[int]] = {}
        """A first word's bit → the phrases it starts, in lexicon order."""
        kind_starts: dict[LexiconKind, int] = {kind: 0 for kind in LexiconKind}
        for kind in LexiconKind:
            for text in lexicon.phrases.get(kind, ()):
                slots = self._compile(text)
                if not slots:
                    continue
                steps: list[int] = []
                need = 0
                for slot in slots:
                    if isinstance(slot, int):
                        steps.append(-slot)
                    else:
                        bit = classes.setdefault(slot, 1 << len(classes))
                        steps.append(bit)
                        need |= bit
                first = steps[0]
                starting.setdefault(first, []).append(len(self._phrases))
                kind_starts[kind] |= first
                plain = all(step > 0 for step in steps)
                self._phrases.append(_Phrase(kind, text, tuple(steps), need, plain))
        self._by_key: dict[str, int] = {}
        """A key → the bits of the phrase words that have it."""
        for keys, bit in classes.items():
            for key in keys:
                self._by_key[key] = self._by_key.get(key, 0) | bit
        self._starting_bits = starting
        self._kind_starts = kind_starts
        self._any_start = 0
        for bits in kind_starts.values():
            self._any_start |= bits
        self._words: dict[str, tuple[int, tuple[int, ...]]] = {}
        """Word as written → (the bits of the phrase words it matches, the phrases it starts)."""
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

    def _word(self, word: str) -> tuple[int, tuple[int, ...]]:
        """What ``word`` matches and starts, remembered (up to the memory bound)."""
        known = self._words.get(word)
        if known is not None:
            return known
        by_key = self._by_key
        bits = 0
        for key in self.keys(word):
            bits |= by_key.get(key, 0)
        starts: tuple[int, ...] = ()
        if bits & self._any_start:
            starts = tuple(
                sorted(
                    index
                    for first, indices in self._starting_bits.items()
                    if bits & first
                    for index in indices
                )
            )
        known = (bits, starts)
        if len(self._words) < _CACHE_LIMIT:
            self._words[word] = known
        return known

    def _read(self, words: list[str]) -> list[tuple[int, tuple[int, ...]]]:
        known = self._words
        try:
            # One look-up per word in C; a word not seen yet (rare after the first texts)
            # sends the whole text through the slower path once.
            return [known[word] for word in words]
        except KeyError:
            return [self._word(word) for word in words]

    def may_contain(self, text: str, kinds: Collection[LexiconKind] | None = None) -> bool:
        """False when no phrase (of ``kinds``) can be in ``text``; True means "look closer"."""
        wanted = LexiconKind if kinds is None else kinds
        starts = 0
        for kind in wanted:
            starts |= self._kind_starts[kind]
        return any(bits & starts for bits, _ in self._read(_WORD.findall(text)))

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
        words = _WORD.findall(text)
        read = self._read(words)
        present = 0
        for bits, _ in read:
            present |= bits
        if not present & self._any_start:
            return ()
        # A phrase with a word the text lacks cannot match anywhere in it.
        absent = ~present
        masks = [bits for bits, _ in read]
        phrases = self._phrases
        offsets: list[int] = []
        found: list[Match] = []
        for position, (_bits, starts) in enumerate(read):
            for index in starts:
                phrase = phrases[index]
                if phrase.need & absent:
                    continue
                if phrase.plain:
                    last = _plain_from(phrase.steps, masks, position)
                else:
                    last = _match_from(phrase.steps, masks, position)
                if last is None:
                    continue
                start = _offset(text, words, offsets, position)
                end = _offset(text, words, offsets, last) + len(words[last])
                found.append(Match(phrase.kind, start, end, text[start:end], phrase.text))
        return tuple(_without_overlaps(found)) if len(found) > 1 else tuple(found)

    def contains(self, text: str, kind: LexiconKind) -> bool:
        """Whether a phrase of ``kind`` occurs in ``text``."""
        return bool(self.find(text, (kind,)))


def _offset(text: str, words: list[str], offsets: list[int], index: int) -> int:
    """Where word ``index`` of ``text`` starts, locating the words up to it (into ``offsets``).

    Only texts with a match need offsets, and only up to their last match. Between
    two words of ``findall`` there are no letters or digits, so the next word is the
    first occurrence of its letters after the previous word's end.
    """
    while len(offsets) <= index:
        known = len(offsets)
        after = offsets[-1] + len(words[known - 1]) if offsets else 0
        offsets.append(text.find(words[known], after))
    return offsets[index]


def _plain_from(steps: tuple[int, ...], masks: list[int], position: int) -> int | None:
    """The index of the last word of a gapless phrase matched at ``position``, or None."""
    last = position + len(steps) - 1
    if last >= len(masks):
        return None
    at = position
    for bit in steps:
        if not masks[at] & bit:
            return None
        at += 1
    return last


def _match_from(
    steps: tuple[int, ...], masks: list[int], position: int, step: int = 0
) -> int | None:
    """The index of the last word of a match of ``steps[step:]`` from ``position``, or None.

    A gap may skip 0 to its number of words; the first way found wins, trying
    the fewest skipped words first at each gap. Words are walked in a loop and
    only a gap recurses (once per way of skipping).
    """
    at = position
    count = len(masks)
    for index in range(step, len(steps)):
        current = steps[index]
        if current < 0:
            for skip in range(-current + 1):
                found = _match_from(steps, masks, at + skip, index + 1)
                if found is not None:
                    return found
            return None
        if at >= count or not masks[at] & current:
            return None
        at += 1
    return at - 1


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
