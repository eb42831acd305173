"""Numbers, money, dates and labels for the report, in the report's language.

The figures are written exactly as the panel and the charts write them
(:mod:`scopeguard.presentation.formatting`: ``110.0%`` / ``110,0 %``, ``€9,310.00`` /
``9 310,00 €``); this module adds what only the report needs: signed changes,
percentage points, month names. Times are shown in the agency's time zone;
labels come from the gettext catalogs (``report.po``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal

from scopeguard.domain.contract import ScopeUnit
from scopeguard.domain.month import Month
from scopeguard.presentation.formatting import (
    format_day,
    format_moment,
    format_money,
    format_number,
    format_percent,
    health_label,
    unit_label,
)
from scopeguard.presentation.i18n import gettext_for, locale, ngettext_for, normalize_language

DASH = "—"
MINUS = "\u2212"


def _noop(message: str) -> str:
    """Marks a message for extraction where it is translated later (gettext's N_)."""
    return message


N_ = _noop

COMPARISON_LABELS = {
    "creep": N_("Scope creep"),
    "creep_percent": N_("Scope creep, percent of contract"),
    "revisions": N_("Revision rounds"),
    "over_limit": N_("Issues past their allowance"),
    "reopens": N_("Reopens"),
    "overage_rounds": N_("Billable revision rounds"),
    "overage_hours": N_("Overage hours"),
    "overage_amount": N_("Overage estimate"),
    "health": N_("Health"),
}


@dataclass(frozen=True)
class Formatter:
    """Formatting for one language, one time zone and one contract currency."""

    language: str
    zone: ZoneInfo
    currency: str

    @property
    def locale(self) -> Locale:
        return locale(self.language)

    @property
    def gettext(self) -> Callable[[str], str]:
        return gettext_for(normalize_language(self.language))

    @property
    def ngettext(self) -> Callable[[str, str, int], str]:
        return ngettext_for(normalize_language(self.language))

    # -- numbers -------------------------------------------------------------

    def number(self, value: float | None, *, decimals: int = 2) -> str:
        """A number with up to ``decimals`` decimals (``—`` for none)."""
        return format_number(value, self.language, decimals=decimals)

    def signed(self, value: float | None, *, decimals: int = 2) -> str:
        """A change: ``+3``, ``−1.5``, ``0``."""
        if value is None:
            return DASH
        if value == 0:
            return self.number(0)
        # A real minus sign reads better than a hyphen in tables.
        return ("+" if value > 0 else MINUS) + self.number(abs(value), decimals=decimals)

    def percent(self, value: float | None) -> str:
        """Creep percent as the summary gives it (one decimal)."""
        return format_percent(value, self.language)

    def points(self, value: float | None) -> str:
        """A change in percentage points: ``+7.2 pp`` / ``+7,2 п. п.``."""
        if value is None:
            return DASH
        _ = self.gettext
        text = format_decimal(abs(value), format="#,##0.0", locale=self.locale)
        sign = "" if value == 0 else ("+" if value > 0 else MINUS)
        # "pp": percentage points, the unit of a change of a percentage.
        return f"{sign}{text}\u00a0{_('pp')}"

    def money(self, value: float | None, *, signed: bool = False) -> str:
        """An amount in the contract's currency (``+`` / ``−`` in front when ``signed``)."""
        if value is None:
            return DASH
        if not signed:
            return format_money(value, self.currency, self.language)
        text = format_money(abs(value), self.currency, self.language)
        return text if value == 0 else ("+" if value > 0 else MINUS) + text

    def amount(self, unit: ScopeUnit | str, value: float | None, *, signed: bool = False) -> str:
        """An amount of scope in ``unit`` (whole issues; points and hours to two decimals)."""
        decimals = 0 if ScopeUnit(unit) is ScopeUnit.ISSUES else 2
        if signed:
            return self.signed(value, decimals=decimals)
        return self.number(value, decimals=decimals)

    # -- dates -----------------------------------------------------------------

    def day(self, value: date | datetime | None) -> str:
        """A calendar day (a moment is first moved into the agency's zone)."""
        if value is None:
            return DASH
        if isinstance(value, datetime):
            value = value.astimezone(self.zone).date()
        return format_day(value, self.language)

    def long_day(self, value: date | datetime | None) -> str:
        """A calendar day written out (``November 3, 2026`` / ``3 ноября 2026 г.``)."""
        if value is None:
            return DASH
        if isinstance(value, datetime):
            value = value.astimezone(self.zone).date()
        return format_date(value, "long", locale=self.locale)

    def moment(self, value: datetime | None) -> str:
        """A moment in the agency's zone, to the minute: ``Oct 3, 2026, 14:05``."""
        return format_moment(value, self.zone, self.language)

    def month(self, value: Month) -> str:
        """``November 2026`` / ``Ноябрь 2026`` (the nominative, as a title)."""
        return self.month_in_text(value).capitalize()

    def month_in_text(self, value: Month) -> str:
        """``November 2026`` / ``ноябрь 2026``: the month inside a sentence.

        Russian writes month names in lower case, and every Russian month is a
        masculine inanimate noun, so after «за» the nominative is also the right
        case: «отчёт за октябрь 2026».
        """
        return format_date(value.first_day, "LLLL yyyy", locale=self.locale)

    # -- labels ------------------------------------------------------------------

    def health(self, level: str) -> str:
        """The health level in words, as the panel shows it."""
        return health_label(level, self.language)

    def unit(self, unit: ScopeUnit | str) -> str:
        """A scope unit's name (``story points``), capitalized for a row label."""
        label = unit_label(ScopeUnit(unit).value, self.language)
        return label[:1].upper() + label[1:]

    def comparison(self, metric: str) -> str:
        """The label of one month-over-month line."""
        return self.gettext(COMPARISON_LABELS[metric])
