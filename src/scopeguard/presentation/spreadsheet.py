"""Cells of the CSV files ScopeGuard writes, made safe to open in a spreadsheet.

Issue summaries, names and statuses are written by clients in Jira. A cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
formula by Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)``,
``=cmd|' /C calc'!A0``): OWASP's CSV-injection guidance is to prefix such a cell
with a single quote, which the spreadsheet shows as text. Numbers stay numbers
(a negative amount is not text a client wrote).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP)."""

Cell = str | int | float | None


def safe_cell(value: Cell) -> str | int | float:
    """``value`` as a CSV cell that no spreadsheet evaluates."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str):
        return value
    if value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def safe_row(row: Iterable[Cell]) -> list[str | int | float]:
    """Every cell of ``row`` through :func:`safe_cell`."""
    return [safe_cell(cell) for cell in row]


def safe_rows(rows: Iterable[Sequence[Cell]]) -> list[list[str | int | float]]:
    """Every row through :func:`safe_row`."""
    return [safe_row(row) for row in rows]
