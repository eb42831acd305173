"""Phrases in any word form, English and Russian, with the real morphology."""

from __future__ import annotations

from scopeguard.adapters.lexicons import shipped_lexicon
from scopeguard.adapters.morphology import morphology
from scopeguard.domain.risk.lexicon import (
    Lexicon,
    LexiconKind,
    PhraseMatcher,
    excerpt,
    language_of,
)
from tests.support.risk import matcher


def found(text: str, kind: LexiconKind) -> list[str]:
    return [m.text for m in matcher().find(text, (kind,))]


def test_russian_phrases_match_in_other_word_forms() -> None:
    assert found("Сделайте душевнее и поубедительнее, чтоб глаза горели", LexiconKind.VAGUE) == [
        "душевнее",
        "поубедительнее",
        "глаза горели",
    ]
    # The lexicon says «сменить * менеджер»: other forms and a word between them.
    assert found("Давайте сменим, пожалуйста, менеджера.", LexiconKind.PM_CHANGE) == [
        "сменим, пожалуйста, менеджера"
    ]
    assert found("Нужен другой менеджер проекта", LexiconKind.PM_CHANGE) == ["другой менеджер"]
    assert found("Это срочная задача", LexiconKind.URGENT) == ["срочная"]


def test_english_wording_matches_in_other_forms_and_with_words_between() -> None:
    assert found("Could you make the header POP a bit?", LexiconKind.VAGUE) == [
        "make the header POP"
    ]
    assert found("It wows nobody", LexiconKind.VAGUE) == ["wows"]
    assert found("Can we get someone else on this?", LexiconKind.PM_CHANGE) == [
        "someone else on this"
    ]
    # "pop" alone is not "make * pop", and "popular" is not "pop".
    assert found("A popular pop-up", LexiconKind.VAGUE) == []


def test_each_phrase_once_where_phrases_of_a_kind_overlap() -> None:
    matches = matcher().find("нужно с изюминкой", (LexiconKind.VAGUE,))
    assert [(m.text, m.phrase) for m in matches] == [("с изюминкой", "с изюминкой")]


def test_configured_phrases_extend_the_shipped_ones() -> None:
    lexicon = shipped_lexicon().extended({LexiconKind.VAGUE: ["make it sing", "огонь"]})
    extended = PhraseMatcher(lexicon, morphology())
    assert [m.text for m in extended.find("Make it sing! Нужен огонь.")] == [
        "Make it sing",
        "огонь",
    ]
    assert PhraseMatcher(Lexicon(), morphology()).find("make it pop") == []


def test_a_text_without_any_lexicon_word_is_passed_over() -> None:
    # No word of it starts a phrase of any kind ("the" would: "the usual").
    assert not matcher().may_contain("Invoice attached, thanks.")
    assert matcher().may_contain("This is urgent")


def test_language_is_told_by_the_alphabet() -> None:
    assert language_of("Сделайте лендинг, please") == "ru"
    assert language_of("Make the landing page, пожалуйста") == "en"
    assert language_of("12345 !!!") == "en"


def test_an_excerpt_keeps_the_span_it_was_cut_around() -> None:
    text = "word " * 40 + "make it pop" + " word" * 40
    start = text.index("make")
    piece, a, b = excerpt(text, start, start + len("make it pop"), width=20)
    assert piece[a:b] == "make it pop"
    assert piece.startswith("…") and piece.endswith("…")
