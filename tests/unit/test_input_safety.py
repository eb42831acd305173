"""Small input-safety rules: spreadsheet cells, month parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scopeguard.domain.month import Month
from scopeguard.presentation.spreadsheet import FORMULA_TRIGGERS, safe_cell


@given(st.text())
def test_no_text_cell_starts_a_formula(text: str) -> None:
    cell = safe_cell(text)
    assert isinstance(cell, str)
    assert not cell.startswith(FORMULA_TRIGGERS)
    # Nothing is lost: the cell is the text, or the text behind one quote.
    assert cell in (text, "'" + text)


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_formula_triggers_are_quoted(text: str) -> None:
    assert safe_cell(text) == "'" + text


def test_numbers_stay_numbers() -> None:
    assert safe_cell(-5) == -5
    assert safe_cell(2.5) == 2.5
    assert safe_cell(None) == ""


@pytest.mark.parametrize("text", ["２０２６-１０", "2026-1０", "٢٠٢٦-١٠", "2026-10\n"])
def test_month_parse_takes_ascii_digits_only(text: str) -> None:
    if text.strip() == "2026-10":
        assert Month.parse(text) == Month(2026, 10)
        return
    with pytest.raises(ValueError, match="YYYY-MM"):
        Month.parse(text)
