"""How a client's risk reads: its labels in English and Russian, the panel's view, the trend.

The stored risk document (:class:`~scopeguard.presentation.documents.RiskDocument`)
is read back into typed views here, once per page, so templates never index
dictionaries. :data:`RISK_LABEL_IDS` lists every label that names the risk or
one of its parts: the client-facing PDF must contain none of them in either
language (tests grep for them), while the panel's internal section, the
internal PDF and the Forge page show them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from scopeguard.presentation.documents import (
    EvidenceDocument,
    FindingDocument,
    RiskDocument,
)
from scopeguard.presentation.i18n import gettext_for

Translate = Callable[[str], str]


def N_(text: str) -> str:  # noqa: N802 - the name the catalog extractor looks for
    """A msgid, marked for the catalog extractor, translated where it is shown."""
    return text


SIGNAL_LABEL_IDS: dict[str, str] = {
    "off_hours": N_("Messages outside working hours"),
    "vague_briefs": N_("Vague briefs"),
    "revision_churn": N_("Revision churn"),
    "requirement_churn": N_("Requirements changed after work started"),
    "escalation": N_("Escalation"),
    "approval_drag": N_("Slow approvals"),
    "scope_pressure": N_("Scope pressure"),
    "pm_change_request": N_("Requests for another manager"),
    "responsiveness": N_("Agency response time"),
    "neglect": N_("Days the client waited"),
}
"""Each signal's name as people read it."""

VERDICT_LABEL_IDS: dict[str, str] = {
    "client": N_("The client is the risk"),
    "check_pm": N_("Check the PM first"),
    "none": N_("No risk stands out"),
}
LEVEL_LABEL_IDS: dict[str, str] = {
    "low": N_("Low risk"),
    "elevated": N_("Elevated risk"),
    "high": N_("High risk"),
}
SECTION_LABEL_IDS: tuple[str, ...] = (
    N_("Client risk"),
    N_("Risk score"),
    N_("Agency side"),
    N_("Client side"),
    N_("Risk trend"),
    N_("Early warning"),
)

RISK_LABEL_IDS: tuple[str, ...] = (
    *SECTION_LABEL_IDS,
    *SIGNAL_LABEL_IDS.values(),
    *VERDICT_LABEL_IDS.values(),
    *LEVEL_LABEL_IDS.values(),
)
"""Every label of the risk, as msgids (English); see the module docstring."""


def risk_labels(language: str) -> list[str]:
    """:data:`RISK_LABEL_IDS` as shown in ``language`` (``en`` or ``ru``)."""
    _ = gettext_for(language)
    return [_(label) for label in RISK_LABEL_IDS]


@dataclass(frozen=True, slots=True)
class Span:
    """A piece of quoted text, marked when it is the phrase that made it evidence."""

    text: str
    marked: bool


@dataclass(frozen=True, slots=True)
class EventView:
    """One event behind a figure."""

    issue: str
    url: str
    at: datetime
    kind: str
    actor: str | None
    detail: str | None
    hours: float | None
    quote: tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class FindingView:
    """A signal that stands out, with its most telling events."""

    signal: str
    label: str
    side: str
    value: float
    peer_median: float | None
    events: tuple[EventView, ...]


@dataclass(frozen=True, slots=True)
class SignalRow:
    """One signal of one half: its value, where it stands among the others, its weight."""

    signal: str
    label: str
    value: float | None
    normalised: float | None
    peer_median: float | None
    weight: float


@dataclass(frozen=True, slots=True)
class WeekPoint:
    """One week of the trend."""

    week: str
    score: int | None
    agency_score: int | None


@dataclass(frozen=True, slots=True)
class RiskView:
    """A client's risk for the panel and the Forge page."""

    client: str
    as_of: datetime
    status: str
    score: int | None
    level: str | None
    level_label: str | None
    agency_score: int | None
    verdict: str
    verdict_label: str
    client_side: tuple[SignalRow, ...]
    agency_side: tuple[SignalRow, ...]
    findings: tuple[FindingView, ...]
    """Client-side findings first, then the agency side's, most weighty first."""
    requests: tuple[EventView, ...]
    weekly: tuple[WeekPoint, ...]
    resembles: str | None
    early_score: int | None

    def reasons(self, count: int = 3) -> tuple[FindingView, ...]:
        """The top ``count`` reasons: the findings of the side the verdict points to first."""
        first = "agency" if self.verdict == "check_pm" else "client"
        ordered = sorted(self.findings, key=lambda f: f.side != first)
        return tuple(ordered[:count])


def _quote(event: EvidenceDocument) -> tuple[Span, ...]:
    text = event.get("text")
    if not text:
        return ()
    spans: list[Span] = []
    at = 0
    for start, end in sorted(event.get("marks", [])):
        if start < at:
            continue
        if start > at:
            spans.append(Span(text[at:start], False))
        spans.append(Span(text[start:end], True))
        at = end
    if at < len(text):
        spans.append(Span(text[at:], False))
    return tuple(spans)


def _event(event: EvidenceDocument, zone: ZoneInfo) -> EventView:
    return EventView(
        issue=event["issue"],
        url=event["url"],
        at=datetime.fromisoformat(event["at"]).astimezone(zone),
        kind=event["kind"],
        actor=event.get("actor"),
        detail=event.get("detail"),
        hours=event.get("hours"),
        quote=_quote(event),
    )


def _finding(finding: FindingDocument, zone: ZoneInfo, _: Translate) -> FindingView:
    return FindingView(
        signal=finding["signal"],
        label=_(SIGNAL_LABEL_IDS.get(finding["signal"], finding["signal"])),
        side=finding["side"],
        value=finding["value"],
        peer_median=finding["peer_median"],
        events=tuple(_event(e, zone) for e in finding["evidence"]),
    )


def risk_view(document: RiskDocument, zone: ZoneInfo, language: str) -> RiskView:
    """The stored document as the panel shows it, labels in ``language``."""
    _ = gettext_for(language)
    rows: dict[str, list[SignalRow]] = {"client": [], "agency": []}
    for name, signal in document["signals"].items():
        rows.setdefault(signal["side"], []).append(
            SignalRow(
                signal=name,
                label=_(SIGNAL_LABEL_IDS.get(name, name)),
                value=signal["value"],
                normalised=signal["normalised"],
                peer_median=signal["peer_median"],
                weight=signal["weight"],
            )
        )
    findings = document["findings"]
    early = document["early_warning"]
    level = document["level"]
    return RiskView(
        client=document["client"],
        as_of=datetime.fromisoformat(document["as_of"]).astimezone(zone),
        status=document["status"],
        score=document["score"],
        level=level,
        level_label=None if level is None else _(LEVEL_LABEL_IDS[level]),
        agency_score=document["agency_score"],
        verdict=document["verdict"],
        verdict_label=_(VERDICT_LABEL_IDS[document["verdict"]]),
        client_side=tuple(rows["client"]),
        agency_side=tuple(rows["agency"]),
        findings=tuple(_finding(f, zone, _) for f in (*findings["client"], *findings["agency"])),
        requests=tuple(_event(e, zone) for e in document["pm_change_requests"]),
        weekly=tuple(
            WeekPoint(w["week"], w["score"], w["agency_score"]) for w in document["weekly"]
        ),
        resembles=None if early is None else early["resembles"],
        early_score=None if early is None else early["score"],
    )


def trend_svg(
    weekly: Sequence[WeekPoint],
    *,
    title: str,
    client_label: str,
    agency_label: str,
    width: int = 640,
    height: int = 180,
) -> str:
    """The weekly client score (solid) and agency score (dashed) as an inline SVG.

    Drawn here, not by the charts adapter: two polylines need no plotting library,
    and inline markup needs no image permission inside Jira. Only numbers and the
    escaped labels go into the markup.
    """
    from html import escape  # noqa: PLC0415 - only where an SVG is drawn

    pad, top, bottom = 32, 14, 22
    inner_w, inner_h = width - 2 * pad, height - top - bottom
    count = max(1, len(weekly) - 1)

    def x(index: int) -> float:
        return pad + inner_w * index / count

    def y(score: int) -> float:
        return top + inner_h * (1 - score / 100)

    def line(values: list[int | None]) -> str:
        runs: list[list[str]] = [[]]
        for index, value in enumerate(values):
            if value is None:
                runs.append([])
            else:
                runs[-1].append(f"{x(index):.1f},{y(value):.1f}")
        return " ".join(f"M{' L'.join(run)}" for run in runs if run)

    client = line([w.score for w in weekly])
    agency = line([w.agency_score for w in weekly])
    grid = "".join(
        f'<line x1="{pad}" x2="{width - pad}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
        f'<text x="{pad - 4}" y="{y(v) + 4:.1f}" text-anchor="end">{v}</text>'
        for v in (0, 50, 100)
    )
    first = escape(weekly[0].week) if weekly else ""
    last = escape(weekly[-1].week) if weekly else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" '
        'class="risk-trend" font-family="sans-serif" font-size="11">'
        f"<title>{escape(title)}</title>{grid}"
        f'<path d="{client}" fill="none" stroke="#b42318" stroke-width="2"/>'
        f'<path d="{agency}" fill="none" stroke="#175cd3" stroke-width="2" '
        'stroke-dasharray="5 3"/>'
        f'<text x="{pad}" y="{height - 6}">{first}</text>'
        f'<text x="{width - pad}" y="{height - 6}" text-anchor="end">{last}</text>'
        f'<text x="{width - pad}" y="{top - 2}" text-anchor="end" fill="#b42318">'
        f"{escape(client_label)}</text>"
        f'<text x="{width - pad - 8 * len(client_label) - 12}" y="{top - 2}" '
        f'text-anchor="end" fill="#175cd3">{escape(agency_label)}</text>'
        "</svg>"
    )
