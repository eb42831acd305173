"""The brief checker: how clear a brief is before anyone signs it, and what to ask back.

:func:`check_brief` reads a brief (a document's text, an issue's description)
and finds the vague phrases, the references to things never written down, the
urgency without a date, and whether it states acceptance criteria at all. It
gives a 0–100 clarity score and the questions to send back, in the brief's own
language (English or Russian, told by its alphabet). The words matched come
from the lexicons (:mod:`scopeguard.domain.risk.lexicon`); the questions are
codes here and sentences in :mod:`scopeguard.presentation.documents`.

Clarity, from 100 (see the README, *Brief checker*)::

    empty text                      → 0
    fewer words than min_words      − 30
    no acceptance criteria          − 25
    each distinct vague phrase      − 10   (at most − 40)
    each distinct undocumented ref. − 10   (at most − 20)
    urgency but no date anywhere    − 5
    floored at 0
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from scopeguard.domain.risk.lexicon import (
    Language,
    LexiconKind,
    Match,
    PhraseMatcher,
    language_of,
    words,
)

PHRASE_KINDS = (LexiconKind.VAGUE, LexiconKind.UNDOCUMENTED, LexiconKind.URGENT)
"""The kinds of phrase a brief report lists."""

_CHECKLIST = re.compile(r"(?m)^\s*(?:[-*•+]\s*)?(?:\[[ xX✓✔]?\]|[☐☑☒✓✔✅])\s*\S")
_NUMBERED = re.compile(r"(?m)^\s*(?:\d{1,2}[.)]|#)\s+\S")
_GIVEN = re.compile(r"(?im)^\s*(?:given|дано)\b")
_THEN = re.compile(r"(?im)^\s*(?:then|тогда)\b")
_DATE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b"
    r"|\b(?:0?[1-9]|[12]\d|3[01])[./](?:0?[1-9]|1[0-2])(?:[./](?:\d{4}|\d{2}))?\b"
)

SHORT_PENALTY = 30
NO_CRITERIA_PENALTY = 25
VAGUE_PENALTY, VAGUE_CAP = 10, 40
UNDOCUMENTED_PENALTY, UNDOCUMENTED_CAP = 10, 20
NO_DATE_PENALTY = 5


class QuestionKind(StrEnum):
    """What a question back to the client asks for."""

    DESCRIBE = "describe"
    """The brief is missing or too short: what exactly is to be made?"""
    ACCEPTANCE = "acceptance"
    """No acceptance criteria: how will both sides know it is done?"""
    CLARIFY = "clarify"
    """A vague phrase: what does it mean in concrete terms?"""
    WRITE_DOWN = "write_down"
    """A reference to something unwritten: please write it down."""
    DEADLINE = "deadline"
    """Urgency without a date: by when exactly, and why?"""


@dataclass(frozen=True, slots=True)
class Question:
    """One question to send back; ``phrase`` is the brief's own words it is about."""

    kind: QuestionKind
    phrase: str | None = None


class Shortfall(StrEnum):
    """Why a brief lost clarity points."""

    EMPTY = "empty"
    SHORT = "short"
    NO_ACCEPTANCE_CRITERIA = "no_acceptance_criteria"
    VAGUE_WORDING = "vague_wording"
    UNDOCUMENTED = "undocumented"
    URGENT_WITHOUT_DATE = "urgent_without_date"


@dataclass(frozen=True, slots=True)
class Deduction:
    """Points a brief lost, and why."""

    reason: Shortfall
    points: int


@dataclass(frozen=True, slots=True)
class BriefReport:
    """What the checker found in one brief."""

    language: Language
    score: int
    """Clarity, 0–100 (the module's docstring has the formula)."""
    words: int
    phrases: tuple[Match, ...]
    """Vague, undocumented and urgent phrases, in reading order."""
    acceptance_criteria: bool
    has_date: bool
    questions: tuple[Question, ...]
    deductions: tuple[Deduction, ...]

    @property
    def shortfalls(self) -> tuple[Shortfall, ...]:
        """The reasons the brief is not perfectly clear, in formula order."""
        return tuple(deduction.reason for deduction in self.deductions)


def has_acceptance_criteria(text: str, matches: list[Match]) -> bool:
    """Acceptance criteria: a phrase that introduces them, a checklist, numbered expectations
    (two or more numbered lines), or Given/Then scenarios."""
    if any(match.kind is LexiconKind.ACCEPTANCE for match in matches):
        return True
    if _CHECKLIST.search(text):
        return True
    if len(_NUMBERED.findall(text)) >= 2:
        return True
    return bool(_GIVEN.search(text) and _THEN.search(text))


def _distinct(matches: list[Match], kind: LexiconKind) -> list[Match]:
    seen: set[str] = set()
    out = []
    for match in matches:
        folded = " ".join(match.text.casefold().split())
        if match.kind is kind and folded not in seen:
            seen.add(folded)
            out.append(match)
    return out


def check_brief(text: str, matcher: PhraseMatcher, *, min_words: int = 30) -> BriefReport:
    """Check one brief: phrases, acceptance criteria, questions and clarity score."""
    count = words(text)
    language = language_of(text)
    if count == 0:
        return BriefReport(
            language=language,
            score=0,
            words=0,
            phrases=(),
            acceptance_criteria=False,
            has_date=False,
            questions=(Question(QuestionKind.DESCRIBE), Question(QuestionKind.ACCEPTANCE)),
            deductions=(Deduction(Shortfall.EMPTY, 100),),
        )
    matches = matcher.find(text)
    criteria = has_acceptance_criteria(text, matches)
    dated = bool(_DATE.search(text)) or any(m.kind is LexiconKind.DEADLINE for m in matches)
    vague = _distinct(matches, LexiconKind.VAGUE)
    undocumented = _distinct(matches, LexiconKind.UNDOCUMENTED)
    urgent = _distinct(matches, LexiconKind.URGENT)

    deductions: list[Deduction] = []
    questions: list[Question] = []
    if count < min_words:
        deductions.append(Deduction(Shortfall.SHORT, SHORT_PENALTY))
        questions.append(Question(QuestionKind.DESCRIBE))
    if not criteria:
        deductions.append(Deduction(Shortfall.NO_ACCEPTANCE_CRITERIA, NO_CRITERIA_PENALTY))
        questions.append(Question(QuestionKind.ACCEPTANCE))
    if vague:
        points = min(VAGUE_CAP, VAGUE_PENALTY * len(vague))
        deductions.append(Deduction(Shortfall.VAGUE_WORDING, points))
        questions.extend(Question(QuestionKind.CLARIFY, match.text) for match in vague)
    if undocumented:
        points = min(UNDOCUMENTED_CAP, UNDOCUMENTED_PENALTY * len(undocumented))
        deductions.append(Deduction(Shortfall.UNDOCUMENTED, points))
        questions.extend(Question(QuestionKind.WRITE_DOWN, match.text) for match in undocumented)
    if urgent and not dated:
        deductions.append(Deduction(Shortfall.URGENT_WITHOUT_DATE, NO_DATE_PENALTY))
        questions.append(Question(QuestionKind.DEADLINE, urgent[0].text))
    score = max(0, 100 - sum(deduction.points for deduction in deductions))
    return BriefReport(
        language=language,
        score=score,
        words=count,
        phrases=tuple(m for m in matches if m.kind in PHRASE_KINDS),
        acceptance_criteria=criteria,
        has_date=dated,
        questions=tuple(questions),
        deductions=tuple(deductions),
    )
