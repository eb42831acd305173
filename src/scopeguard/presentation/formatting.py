"""Localized display of the API's figures: numbers, percentages, money, moments, labels.

Shared by the charts, the web panel and the PDF reports so that a figure reads
the same everywhere ("110.0%" in English, "110,0 %" in Russian). Moments in the
API's JSON are ISO 8601 with an offset; they are shown in the agency's zone.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_currency, format_decimal

from scopeguard.presentation.i18n import gettext_for, locale

HEALTH_ORDER = {"ok": 0, "warning": 1, "breach": 2}
"""Severity of each health level, for sorting (worst last)."""


@cache
def _locale(language: str) -> Locale:
    return locale(language)


@cache
def _percent_pattern(language: str) -> str:
    # The locale's own percent pattern ("#,##0%" / "#,##0 %") with one decimal:
    # the metrics round creep percent to one decimal and the display must not
    # round it again.
    pattern = _locale(language).percent_formats[None].pattern
    head, _, tail = pattern.rpartition("0")
    return f"{head}0.0{tail}"


def format_number(value: float | None, language: str, *, decimals: int = 2) -> str:
    """``1234.5`` → ``1,234.5`` / ``1 234,5``; whole numbers without decimals; ``None`` → ``—``."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "#" * decimals if decimals > 0 else "")
    return format_decimal(value, format=pattern, locale=_locale(language))


def format_percent(value: float | None, language: str) -> str:
    """A percentage already expressed in percent (``110.0`` → ``110.0%``); ``None`` → ``—``."""
    if value is None:
        return "—"
    return format_decimal(value / 100, format=_percent_pattern(language), locale=_locale(language))


def format_money(amount: float, currency: str, language: str) -> str:
    """``9310.0, "EUR"`` → ``€9,310.00`` / ``9 310,00 €``."""
    return format_currency(amount, currency, locale=_locale(language))


def parse_moment(value: str | datetime) -> datetime:
    """An aware datetime from the API's ISO 8601 text (or a datetime, unchanged)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"moment without a time zone: {value!r}")
    return moment


def format_moment(value: str | datetime | None, zone: ZoneInfo, language: str) -> str:
    """A moment in the agency's zone, localized.

    ``Jul 18, 2026, 17:04`` in English, ``18 июл. 2026 г., 17:04`` in Russian.
    """
    if value is None:
        return "—"
    moment = parse_moment(value).astimezone(zone)
    where = _locale(language)
    day = format_skeleton("yMMMd", moment, tzinfo=zone, locale=where)
    clock = format_skeleton("Hm", moment, tzinfo=zone, locale=where)
    # The locale's own way of joining a date and a time ("{1}, {0}").
    return str(where.datetime_formats["medium"]).replace("{1}", day).replace("{0}", clock)


def format_day(value: date | str, language: str, *, with_year: bool = True) -> str:
    """A calendar day, localized: ``Jul 18, 2026`` / ``18 июл. 2026 г.`` (or without the year)."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    skeleton = "yMMMd" if with_year else "MMMd"
    return format_skeleton(skeleton, day, locale=_locale(language))


def format_short_day(day: date, language: str) -> str:
    """An axis tick: ``18 Jul`` / ``18 июл.`` (day and abbreviated month, locale order)."""
    return format_date(day, "d MMM", locale=_locale(language))


def unit_label(unit: str, language: str) -> str:
    """The name of a scope unit: issues, story points, hours."""
    _ = gettext_for(language)
    labels = {
        "issues": _("issues"),
        "story_points": _("story points"),
        "hours": _("hours"),
    }
    return labels.get(unit, unit)


def health_label(health: str, language: str) -> str:
    """The health level as words."""
    _ = gettext_for(language)
    labels = {"ok": _("OK"), "warning": _("Warning"), "breach": _("Breach")}
    return labels.get(health, health)
