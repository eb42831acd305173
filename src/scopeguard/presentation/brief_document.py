"""The brief checker's findings as a document: ``scopeguard brief check --json`` and ``/brief``.

Not an API answer (the API's documents are :mod:`scopeguard.presentation.documents`,
each one in the OpenAPI description); the CLI writes it as JSON and the brief page
marks its phrases in the pasted text.
"""

from __future__ import annotations

from typing_extensions import TypedDict

from scopeguard.domain.brief import BriefReport, Question, QuestionKind
from scopeguard.presentation.i18n import gettext_for


class BriefPhraseDocument(TypedDict, closed=True):
    """A phrase found in a brief: character offsets into the text that was checked."""

    text: str
    start: int
    end: int
    kind: str


class BriefDocument(TypedDict, closed=True):
    """``scopeguard brief check --json``, and what the brief page (``/brief``) shows."""

    language: str
    score: int
    phrases: list[BriefPhraseDocument]
    acceptance_criteria: bool
    questions: list[str]
    words: int
    shortfalls: list[str]


def question_text(question: Question, language: str) -> str:
    """A question back to the client, in ``language`` (en or ru)."""
    _ = gettext_for(language)
    phrase = question.phrase or ""
    if question.kind is QuestionKind.DESCRIBE:
        return _(
            "Please describe the deliverable in more detail: what exactly should be made, "
            "for whom, and in which formats or channels?"
        )
    if question.kind is QuestionKind.ACCEPTANCE:
        return _(
            "How will we both know it is done? Please list the acceptance criteria: "
            "what must be true for you to accept the work."
        )
    if question.kind is QuestionKind.CLARIFY:
        return _(
            "What does “{phrase}” mean in concrete terms? A reference, an example or a "
            "measurable result would help."
        ).format(phrase=phrase)
    if question.kind is QuestionKind.WRITE_DOWN:
        return _(
            "You wrote “{phrase}”: please write down what was agreed, so that everyone "
            "works from the same text."
        ).format(phrase=phrase)
    return _(
        "You wrote “{phrase}”: by which date and time exactly is it needed, and what depends on it?"
    ).format(phrase=phrase)


def brief_document(report: BriefReport) -> BriefDocument:
    """The brief checker's findings; questions in the brief's own language."""
    return {
        "language": report.language,
        "score": report.score,
        "phrases": [
            {"text": m.text, "start": m.start, "end": m.end, "kind": m.kind.value}
            for m in report.phrases
        ],
        "acceptance_criteria": report.acceptance_criteria,
        "questions": [question_text(q, report.language) for q in report.questions],
        "words": report.words,
        "shortfalls": [reason.value for reason in report.shortfalls],
    }
