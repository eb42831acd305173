"""The brief checker: phrases, acceptance criteria, questions and the clarity score."""

from __future__ import annotations

from scopeguard.domain.brief import QuestionKind, Shortfall, check_brief
from scopeguard.presentation.brief_document import brief_document
from tests.support.risk import matcher

VAGUE_RU = (
    "Нужен новый лендинг для акции. Сделайте душевно, убедительно, чтобы глаза горели, "
    "и чтобы было посовременнее. Как обсуждали на созвоне. Срочно!"
)
CLEAR_EN = """Landing page for the spring sale, live on 2026-03-02 at 09:00 CET.

Audience: existing customers who bought in the last 12 months. Goal: 3 % of visitors
redeem the spring voucher. Content comes from the marketing brief v3 (attached).

Acceptance criteria:
- [ ] The page loads in under 2 seconds on a 4G connection.
- [ ] The voucher code is copied with one tap and applied at checkout.
- [ ] The page passes the WCAG 2.1 AA checks of the accessibility audit.
"""


def test_a_vague_russian_brief_scores_low_and_names_its_phrases() -> None:
    report = check_brief(VAGUE_RU, matcher())
    assert report.language == "ru"
    assert [(m.kind.value, m.text) for m in report.phrases] == [
        ("vague", "душевно"),
        ("vague", "убедительно"),
        ("vague", "глаза горели"),
        ("vague", "посовременнее"),
        ("undocumented", "Как обсуждали"),
        ("urgent", "Срочно"),
    ]
    for match in report.phrases:
        assert VAGUE_RU[match.start : match.end] == match.text
    assert not report.acceptance_criteria
    # 100 − 30 short − 25 no criteria − 40 vague (capped) − 10 undocumented − 5 no date.
    assert report.score == 0
    assert report.shortfalls == (
        Shortfall.SHORT,
        Shortfall.NO_ACCEPTANCE_CRITERIA,
        Shortfall.VAGUE_WORDING,
        Shortfall.UNDOCUMENTED,
        Shortfall.URGENT_WITHOUT_DATE,
    )
    document = brief_document(report)
    assert document["questions"][1].startswith("Как мы с вами поймём, что работа готова?")
    assert "«душевно»" in document["questions"][2]
    assert document["questions"][-1].startswith("Вы написали «Срочно»")


def test_a_clear_english_brief_scores_high_with_its_criteria_found() -> None:
    report = check_brief(CLEAR_EN, matcher())
    assert report.language == "en"
    assert report.acceptance_criteria
    assert report.phrases == ()
    assert report.questions == ()
    assert report.score == 100
    assert report.score > check_brief(VAGUE_RU, matcher()).score


def test_acceptance_criteria_are_recognised_by_phrase_checklist_numbers_or_scenarios() -> None:
    words = "Build the export of the order list for the finance team. " * 4
    assert check_brief(
        words + "\nКритерии приёмки: всё выгружается.", matcher()
    ).acceptance_criteria
    assert check_brief(words + "\n☐ CSV opens in Excel", matcher()).acceptance_criteria
    assert check_brief(words + "\n1. CSV opens\n2. Totals match", matcher()).acceptance_criteria
    assert check_brief(
        words + "\nGiven an order\nThen it is exported", matcher()
    ).acceptance_criteria
    assert not check_brief(words + "\n1. Only one numbered line", matcher()).acceptance_criteria


def test_an_empty_brief_scores_zero_and_asks_for_a_description() -> None:
    report = check_brief("  \n ", matcher())
    assert report.score == 0
    assert [q.kind for q in report.questions] == [QuestionKind.DESCRIBE, QuestionKind.ACCEPTANCE]


def test_urgency_with_a_date_is_not_asked_about_again() -> None:
    dated = check_brief("Urgent: the banner must be live by Friday.", matcher())
    undated = check_brief("Urgent: the banner must be live.", matcher())
    assert QuestionKind.DEADLINE not in [q.kind for q in dated.questions]
    assert [q.phrase for q in undated.questions if q.kind is QuestionKind.DEADLINE] == ["Urgent"]
    assert undated.score == dated.score - 5
