"""The JSON documents of ScopeGuard's API: their shapes, and the one place they are written.

Every document the API serves is described here as a :class:`~typing.TypedDict`
and built from the domain's typed objects by one function; nothing else writes
them. The stored snapshot keeps the summary and series documents as JSON, so the
inverse functions (:func:`figures_from_documents`) read them back into typed
objects for the pages, charts, reports and alerts.

Moments are ISO 8601 with the agency's offset; amounts are numbers as the
metrics round them (whole issues, two decimals of points and hours).

The same types describe the API to its callers: :mod:`scopeguard.presentation.openapi`
turns them into the OpenAPI document's schemas. Every document is *closed*
(``closed=True``, PEP 728): a key not declared here is an error, in mypy and
in the schema (``additionalProperties: false``). The few string fields with a
fixed form say so with ``Annotated`` metadata (a moment, a day, a health
level, a unit name), taken from the domain's enums, so the schema cannot
name a value the code does not write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Annotated, NotRequired
from zoneinfo import ZoneInfo

from pydantic import WithJsonSchema
from typing_extensions import TypedDict

from scopeguard.domain.contract import Contract, ScopeUnit
from scopeguard.domain.effort import Burn, EffortSummary, IssueEffort, RoundHours
from scopeguard.domain.figures import ClientFigures, IssueTrail, SyncStatus
from scopeguard.domain.health import Health, assess_health
from scopeguard.domain.metrics import (
    ContractWindow,
    Overage,
    ReopenFigures,
    RevisionFigures,
    RevisionRound,
    ScopeFigures,
    ScopeSummary,
    UnitFigures,
)
from scopeguard.domain.risk.engine import ClientRisk
from scopeguard.domain.risk.signals import Evidence
from scopeguard.domain.risk.verdict import Finding
from scopeguard.domain.timeseries import DailySeries, DayPoint, UnitPoint

# --- shapes -----------------------------------------------------------------------------

Moment = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
"""An ISO 8601 moment with its offset (``2026-11-27T01:43:47.252802+03:00``)."""
Day = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]
"""An agency day, ISO 8601 (``2026-06-30``)."""
HealthName = Annotated[
    str, WithJsonSchema({"type": "string", "enum": [level.value for level in Health]})
]
"""A health level: ``ok``, ``warning`` or ``breach``."""
UnitName = Annotated[
    str, WithJsonSchema({"type": "string", "enum": [unit.value for unit in ScopeUnit]})
]
"""A scope unit: ``issues``, ``story_points`` or ``hours``."""


class ContractDocument(TypedDict, closed=True):
    """The contract's moments."""

    start: Moment
    end: Moment | None
    baseline: Moment


class UnitFiguresDocument(TypedDict, closed=True):
    """Scope figures in one unit."""

    contracted: float
    added: float
    approved: float
    inflation: float
    creep: float
    creep_percent: float | None


class ScopeDocument(TypedDict, closed=True):
    """The scope section: headline figures in ``unit``, then every unit."""

    unit: UnitName
    contracted: float
    baseline_issues: int
    added: list[str]
    approved_changes: list[str]
    removed: list[str]
    creep: float
    creep_percent: float | None
    by_unit: dict[UnitName, UnitFiguresDocument]


class RevisionsDocument(TypedDict, closed=True):
    """Revision rounds per issue (issues with at least one) against the allowance."""

    total: int
    per_issue_limit: int
    by_issue: dict[str, int]
    over_limit: list[str]


class ReopensDocument(TypedDict, closed=True):
    """Reopens of accepted work."""

    total: int
    by_issue: dict[str, int]


class OverageDocument(TypedDict, closed=True):
    """What the work beyond the contract is worth."""

    amount: float
    currency: str
    rounds: int
    hours: float


class SyncDocument(TypedDict, closed=True):
    """How fresh the data is."""

    last_success: Moment | None
    issues: int


class RoundHoursDocument(TypedDict, closed=True):
    """Hours logged in one revision round of an issue."""

    round: int
    hours: float
    beyond_allowance: bool


class IssueEffortDocument(TypedDict, closed=True):
    """Time logged on one issue."""

    logged_hours: float
    unbilled_hours: float
    rounds: list[RoundHoursDocument]


class BurnDocument(TypedDict, closed=True):
    """Logged against contracted hours, and the day they run out at the current pace."""

    contracted_hours: float | None
    logged_hours: float
    pace_hours_per_day: float
    runs_out_on: Day | None


class EffortDocument(TypedDict, closed=True):
    """Logged time against the contract (README, *Effort*): hours to 0.01."""

    logged_hours: float
    contracted_hours: float | None
    unbilled_hours: float
    unbilled_revision_hours: float
    creep_hours: float
    approved_change_hours: float
    unbilled_amount: float
    currency: str
    per_person_rates: bool
    worklogs: int
    burn: BurnDocument
    by_issue: dict[str, IssueEffortDocument]


class SummaryDocument(TypedDict, closed=True):
    """``GET /api/v1/clients/<key>/summary``."""

    client: str
    name: str
    as_of: Moment
    contract: ContractDocument
    scope: ScopeDocument
    revisions: RevisionsDocument
    reopens: ReopensDocument
    overage: OverageDocument
    health: HealthName
    sync: SyncDocument
    effort: NotRequired[EffortDocument]
    """Always written; absent only in summaries stored before worklogs were read."""


class UnitPointDocument(TypedDict, closed=True):
    """One unit's amounts at the end of a day."""

    baseline: float
    added: float
    approved: float
    inflation: float
    creep: float
    removed: float
    creep_percent: float | None


class DayDocument(TypedDict, closed=True):
    """The state at the end of one agency day."""

    date: Day
    units: dict[UnitName, UnitPointDocument]
    revisions: int
    reopens: int
    logged_hours: NotRequired[float]
    """Hours logged up to the end of the day (cumulative); always written."""


class SeriesDocument(TypedDict, closed=True):
    """``GET /api/v1/clients/<key>/timeseries``."""

    client: str
    timezone: str
    units: list[UnitName]
    days: list[DayDocument]


class ClientEntryDocument(TypedDict, closed=True):
    """One entry of ``GET /api/v1/clients``."""

    key: str
    name: str
    health: HealthName
    risk_score: int | None
    """The client-risk score, for admins only; ``null`` for everyone else, and for a
    client without a score (not enough data)."""


class RoundDocument(TypedDict, closed=True):
    """One revision round of an evidence trail."""

    number: int
    at: Moment
    author: str | None
    author_account: str | None
    from_status: str
    to_status: str
    is_reopen: bool
    beyond_allowance: bool
    history_id: str


class TrailDocument(TypedDict, closed=True):
    """``GET /api/v1/clients/<key>/issues/<issue>``: one issue's evidence trail."""

    client: str
    issue: str
    summary: str
    status: str
    url: str
    revisions_per_issue: int
    revisions: list[RoundDocument]
    reopens: list[RoundDocument]
    added_at: Moment | None
    approved: bool
    removed_at: Moment | None
    round_hours: NotRequired[list[float]]
    """Hours logged in each round, the first first (when time was logged)."""


class ErrorDocument(TypedDict, closed=True):
    """Every error under ``/api/``: a machine-readable code and a sentence for people.

    ``error`` is the HTTP status's name in snake case (``not_found``,
    ``unauthorized``, ``method_not_allowed``, ``request_uri_too_large``…).
    """

    error: str
    message: str


# --- writing ------------------------------------------------------------------------------


def _moment(value: datetime | None, zone: ZoneInfo) -> str | None:
    return None if value is None else value.astimezone(zone).isoformat()


def _unit_figures(figures: UnitFigures) -> UnitFiguresDocument:
    return {
        "contracted": figures.contracted,
        "added": figures.added,
        "approved": figures.approved,
        "inflation": figures.inflation,
        "creep": figures.creep,
        "creep_percent": figures.creep_percent,
    }


def summary_document(figures: ClientFigures) -> SummaryDocument:
    """The client's summary document, keys in the documented order."""
    summary, zone = figures.summary, figures.series.timezone
    scope, window = summary.scope, summary.contract
    document: SummaryDocument = {
        "client": figures.key,
        "name": figures.name,
        "as_of": summary.as_of.isoformat(),
        "contract": {
            "start": window.start.isoformat(),
            "end": None if window.end is None else window.end.isoformat(),
            "baseline": window.baseline.isoformat(),
        },
        "scope": {
            "unit": scope.unit.value,
            "contracted": scope.contracted,
            "baseline_issues": scope.baseline_issues,
            "added": list(scope.added),
            "approved_changes": list(scope.approved_changes),
            "removed": list(scope.removed),
            "creep": scope.creep,
            "creep_percent": scope.creep_percent,
            "by_unit": {unit.value: _unit_figures(f) for unit, f in scope.by_unit.items()},
        },
        "revisions": {
            "total": summary.revisions.total,
            "per_issue_limit": summary.revisions.per_issue_limit,
            "by_issue": dict(summary.revisions.by_issue),
            "over_limit": list(summary.revisions.over_limit),
        },
        "reopens": {
            "total": summary.reopens.total,
            "by_issue": dict(summary.reopens.by_issue),
        },
        "overage": {
            "amount": summary.overage.amount,
            "currency": summary.overage.currency,
            "rounds": summary.overage.rounds,
            "hours": summary.overage.hours,
        },
        "health": summary.health.value,
        "sync": {
            "last_success": _moment(figures.sync.last_success, zone),
            "issues": figures.sync.issues,
        },
    }
    if figures.effort is not None:
        document["effort"] = effort_document(figures.effort)
    return document


def effort_document(effort: EffortSummary) -> EffortDocument:
    """The ``effort`` section of the summary.

    Equal rounds share one dictionary (the document is read-only, and the JSON the
    same): ~200,000 rounds of 20,000 issues are mostly the same few.
    """
    burn = effort.burn
    rounds: dict[RoundHours, RoundHoursDocument] = {}

    def round_document(r: RoundHours) -> RoundHoursDocument:
        found = rounds.get(r)
        if found is None:
            found = rounds[r] = {
                "round": r.round,
                "hours": r.hours,
                "beyond_allowance": r.beyond_allowance,
            }
        return found

    return {
        "logged_hours": effort.logged_hours,
        "contracted_hours": effort.contracted_hours,
        "unbilled_hours": effort.unbilled_hours,
        "unbilled_revision_hours": effort.unbilled_revision_hours,
        "creep_hours": effort.creep_hours,
        "approved_change_hours": effort.approved_change_hours,
        "unbilled_amount": effort.unbilled_amount,
        "currency": effort.currency,
        "per_person_rates": effort.per_person_rates,
        "worklogs": effort.worklogs,
        "burn": {
            "contracted_hours": burn.contracted_hours,
            "logged_hours": burn.logged_hours,
            "pace_hours_per_day": burn.pace_hours_per_day,
            "runs_out_on": None if burn.runs_out_on is None else burn.runs_out_on.isoformat(),
        },
        "by_issue": {
            key: {
                "logged_hours": issue.logged_hours,
                "unbilled_hours": issue.unbilled_hours,
                "rounds": [round_document(r) for r in issue.rounds],
            }
            for key, issue in effort.by_issue.items()
        },
    }


def effort_from_document(document: EffortDocument, as_of: datetime) -> EffortSummary:
    """The typed effort of a stored summary's ``effort`` section."""
    burn = document["burn"]
    runs_out = burn["runs_out_on"]
    shared: dict[tuple[int, float, bool], RoundHours] = {}

    def round_hours(r: RoundHoursDocument) -> RoundHours:
        key = (r["round"], r["hours"], r["beyond_allowance"])
        found = shared.get(key)
        if found is None:
            found = shared[key] = RoundHours(*key)
        return found

    return EffortSummary(
        as_of=as_of,
        logged_hours=document["logged_hours"],
        contracted_hours=document["contracted_hours"],
        unbilled_hours=document["unbilled_hours"],
        unbilled_revision_hours=document["unbilled_revision_hours"],
        creep_hours=document["creep_hours"],
        approved_change_hours=document["approved_change_hours"],
        unbilled_amount=document["unbilled_amount"],
        currency=document["currency"],
        per_person_rates=document["per_person_rates"],
        by_issue={
            key: IssueEffort(
                key=key,
                logged_hours=item["logged_hours"],
                unbilled_hours=item["unbilled_hours"],
                rounds=tuple(round_hours(r) for r in item["rounds"]),
            )
            for key, item in document["by_issue"].items()
        },
        burn=Burn(
            contracted_hours=burn["contracted_hours"],
            logged_hours=burn["logged_hours"],
            pace_hours_per_day=burn["pace_hours_per_day"],
            runs_out_on=None if runs_out is None else date.fromisoformat(runs_out),
        ),
        worklogs=document["worklogs"],
    )


def _unit_point(point: UnitPoint) -> UnitPointDocument:
    return {
        "baseline": point.baseline,
        "added": point.added,
        "approved": point.approved,
        "inflation": point.inflation,
        "creep": point.creep,
        "removed": point.removed,
        "creep_percent": point.creep_percent,
    }


def series_document(figures: ClientFigures) -> SeriesDocument:
    """The client's daily series document."""
    series = figures.series
    return {
        "client": figures.key,
        "timezone": series.timezone.key,
        "units": [unit.value for unit in series.units],
        "days": [
            {
                "date": day.day.isoformat(),
                "units": {unit.value: _unit_point(p) for unit, p in day.units.items()},
                "revisions": day.revisions,
                "reopens": day.reopens,
                "logged_hours": day.logged_hours,
            }
            for day in series.days
        ],
    }


def client_entries(
    figures: Iterable[ClientFigures], risk_scores: Mapping[str, int | None] | None = None
) -> list[ClientEntryDocument]:
    """``GET /api/v1/clients``: every client with its health, and its risk score when
    ``risk_scores`` is given (the caller passes it for admins only)."""
    scores = risk_scores or {}
    return [
        {
            "key": f.key,
            "name": f.name,
            "health": f.summary.health.value,
            "risk_score": scores.get(f.key),
        }
        for f in figures
    ]


def error_document(error: str, message: str) -> ErrorDocument:
    """An error answer's document."""
    return {"error": error, "message": message}


def _round(item: RevisionRound, zone: ZoneInfo) -> RoundDocument:
    return {
        "number": item.number,
        "at": item.at.astimezone(zone).isoformat(),
        "author": item.author,
        "author_account": item.author_account,
        "from_status": item.from_status,
        "to_status": item.to_status,
        "is_reopen": item.is_reopen,
        "beyond_allowance": item.beyond_allowance,
        "history_id": item.history_id,
    }


def trail_document(trail: IssueTrail, zone: ZoneInfo) -> TrailDocument:
    """One issue's evidence trail, moments in the agency's zone."""
    document: TrailDocument = {
        "client": trail.client,
        "issue": trail.issue,
        "summary": trail.summary,
        "status": trail.status,
        "url": trail.url,
        "revisions_per_issue": trail.revisions_per_issue,
        "revisions": [_round(r, zone) for r in trail.rounds],
        "reopens": [_round(r, zone) for r in trail.reopens],
        "added_at": _moment(trail.added_at, zone),
        "approved": trail.approved,
        "removed_at": _moment(trail.removed_at, zone),
    }
    if trail.round_hours:
        document["round_hours"] = list(trail.round_hours)
    return document


# --- reading back ---------------------------------------------------------------------------


def _parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"a stored document holds a moment without an offset: {value!r}")
    return moment


def series_from_document(document: SeriesDocument) -> DailySeries:
    """The typed series of a stored series document."""
    return DailySeries(
        timezone=ZoneInfo(document["timezone"]),
        units=tuple(ScopeUnit(unit) for unit in document["units"]),
        days=tuple(
            DayPoint(
                day=date.fromisoformat(day["date"]),
                units={
                    ScopeUnit(unit): UnitPoint(
                        baseline=p["baseline"],
                        added=p["added"],
                        approved=p["approved"],
                        inflation=p["inflation"],
                        creep=p["creep"],
                        removed=p["removed"],
                        creep_percent=p["creep_percent"],
                    )
                    for unit, p in day["units"].items()
                },
                revisions=day["revisions"],
                reopens=day["reopens"],
                logged_hours=day.get("logged_hours", 0.0),
            )
            for day in document["days"]
        ),
    )


def figures_from_documents(
    summary: SummaryDocument, series: SeriesDocument, contract: Contract
) -> ClientFigures:
    """The typed figures of a stored snapshot, for the contract they were computed under.

    The summary document leaves out two things the typed summary carries:
    the health checks, which are recomputed here with the same function that
    graded them (:func:`~scopeguard.domain.health.assess_health`), and each
    unit's baseline and removed amounts, which the series' last day holds
    (the series ends on the summary's day).
    """
    daily = series_from_document(series)
    latest = daily.latest
    scope_doc = summary["scope"]
    by_unit: dict[ScopeUnit, UnitFigures] = {}
    for name, f in scope_doc["by_unit"].items():
        unit = ScopeUnit(name)
        day = latest.units.get(unit) if latest is not None else None
        by_unit[unit] = UnitFigures(
            contracted=f["contracted"],
            added=f["added"],
            approved=f["approved"],
            inflation=f["inflation"],
            creep=f["creep"],
            creep_percent=f["creep_percent"],
            baseline=day.baseline if day is not None else 0.0,
            removed=day.removed if day is not None else 0.0,
        )
    scope = ScopeFigures(
        unit=ScopeUnit(scope_doc["unit"]),
        contracted=scope_doc["contracted"],
        baseline_issues=scope_doc["baseline_issues"],
        added=tuple(scope_doc["added"]),
        approved_changes=tuple(scope_doc["approved_changes"]),
        removed=tuple(scope_doc["removed"]),
        creep=scope_doc["creep"],
        creep_percent=scope_doc["creep_percent"],
        by_unit=by_unit,
    )
    rev = summary["revisions"]
    revisions = RevisionFigures(
        total=rev["total"],
        per_issue_limit=rev["per_issue_limit"],
        by_issue=dict(rev["by_issue"]),
        over_limit=tuple(rev["over_limit"]),
    )
    reopens = ReopenFigures(
        total=summary["reopens"]["total"], by_issue=dict(summary["reopens"]["by_issue"])
    )
    # The level is graded again rather than read: one function decides it, here too.
    report = assess_health(scope, revisions, reopens, contract)
    window = summary["contract"]
    end = window["end"]
    overage = summary["overage"]
    sync = summary["sync"]
    last = sync["last_success"]
    as_of = _parse(summary["as_of"])
    effort = summary.get("effort")
    return ClientFigures(
        key=summary["client"],
        name=summary["name"],
        summary=ScopeSummary(
            as_of=as_of,
            contract=ContractWindow(
                start=_parse(window["start"]),
                end=None if end is None else _parse(end),
                baseline=_parse(window["baseline"]),
            ),
            scope=scope,
            revisions=revisions,
            reopens=reopens,
            overage=Overage(
                amount=overage["amount"],
                currency=overage["currency"],
                rounds=overage["rounds"],
                hours=overage["hours"],
            ),
            health=report.level,
            checks=report.checks,
        ),
        series=daily,
        sync=SyncStatus(last_success=None if last is None else _parse(last), issues=sync["issues"]),
        effort=None if effort is None else effort_from_document(effort, as_of),
    )


# --- client risk --------------------------------------------------------------------------


class EvidenceDocument(TypedDict, closed=True):
    """One event behind a risk figure; ``text`` only when it has words."""

    issue: str
    at: str
    kind: str
    text: NotRequired[str]
    marks: NotRequired[list[list[int]]]
    actor: NotRequired[str]
    detail: NotRequired[str]
    hours: NotRequired[float]
    url: str


class SignalDocument(TypedDict, closed=True):
    """One signal of the risk document."""

    value: float | None
    normalised: float | None
    weight: float
    side: str
    evidence: list[EvidenceDocument]
    basis: int
    peer_median: float | None
    z: float | None
    details: dict[str, float | None]


class RiskWeekDocument(TypedDict, closed=True):
    """One week of the series and of the conflict view (client side vs agency side)."""

    week: str
    score: int | None
    agency_score: int | None
    status: str
    client: dict[str, float | None]
    agency: dict[str, float | None]


class NeighbourDocument(TypedDict, closed=True):
    """Another client's first weeks, by distance."""

    client: str
    distance: float
    score: int | None
    level: str | None


class EarlyWarningDocument(TypedDict, closed=True):
    """A young contract's first weeks against the other clients' first weeks."""

    weeks: int
    start: str
    end: str
    score: int | None
    level: str | None
    resembles: str | None
    neighbours: list[NeighbourDocument]
    signals: dict[str, float | None]


class FindingDocument(TypedDict, closed=True):
    """A signal that stands out, with its events."""

    signal: str
    side: str
    value: float
    peer_median: float | None
    z: float
    evidence: list[EvidenceDocument]


class RiskDocument(TypedDict, closed=True):
    """``GET /api/v1/clients/<key>/risk``."""

    client: str
    as_of: str
    status: str
    score: int | None
    level: str | None
    verdict: str
    signals: dict[str, SignalDocument]
    weekly: list[RiskWeekDocument]
    early_warning: EarlyWarningDocument | None
    agency_score: int | None
    window: dict[str, str]
    shortage: str | None
    actions: int
    findings: dict[str, list[FindingDocument]]
    pm_change_requests: list[EvidenceDocument]


def top_findings(document: RiskDocument, count: int) -> list[FindingDocument]:
    """The first ``count`` reasons of a risk: the findings of the side the verdict points
    to first (the agency's for ``check_pm``, else the client's), then the other side's."""
    first, second = (
        ("agency", "client") if document["verdict"] == "check_pm" else ("client", "agency")
    )
    return [*document["findings"][first], *document["findings"][second]][:count]


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits) + 0.0


def _evidence(item: Evidence, zone: ZoneInfo, browse_url: Callable[[str], str]) -> EvidenceDocument:
    url = browse_url(item.issue)
    if item.comment_id is not None:
        url = f"{url}?focusedCommentId={item.comment_id}"
    document: EvidenceDocument = {
        "issue": item.issue,
        "at": item.at.astimezone(zone).isoformat(),
        "kind": item.kind.value,
        "url": url,
    }
    if item.text is not None:
        document["text"] = item.text
    if item.marks:
        document["marks"] = [[start, end] for start, end in item.marks]
    if item.actor is not None:
        document["actor"] = item.actor
    if item.detail is not None:
        document["detail"] = item.detail
    if item.hours is not None:
        document["hours"] = item.hours
    return document


def _finding(item: Finding, zone: ZoneInfo, browse_url: Callable[[str], str]) -> FindingDocument:
    return {
        "signal": item.signal.value,
        "side": item.side.value,
        "value": round(item.value, 4) + 0.0,
        "peer_median": _rounded(item.peer_median),
        "z": round(item.z, 3) + 0.0,
        "evidence": [_evidence(e, zone, browse_url) for e in item.evidence],
    }


def risk_document(
    risk: ClientRisk, zone: ZoneInfo, browse_url: Callable[[str], str]
) -> RiskDocument:
    """A client's risk as the API serves it; ``browse_url`` gives an issue's Jira page."""
    signals: dict[str, SignalDocument] = {}
    for name, result in risk.signals.items():
        measurement = result.measurement
        signals[name.value] = {
            "value": _rounded(result.value),
            "normalised": _rounded(result.normalised, 3),
            "weight": result.weight,
            "side": result.side.value,
            "evidence": [_evidence(e, zone, browse_url) for e in measurement.evidence],
            "basis": measurement.basis,
            "peer_median": _rounded(result.placed.peer_median),
            "z": _rounded(result.placed.z, 3),
            "details": {key: _rounded(value) for key, value in measurement.details.items()},
        }
    early = risk.early_warning
    return {
        "client": risk.client,
        "as_of": risk.as_of.astimezone(zone).isoformat(),
        "status": risk.status.value,
        "score": risk.score,
        "level": None if risk.level is None else risk.level.value,
        "verdict": risk.verdict.value,
        "signals": signals,
        "weekly": [
            {
                "week": week.week.isoformat(),
                "score": week.score,
                "agency_score": week.agency_score,
                "status": week.status.value,
                "client": {name.value: _rounded(v, 3) for name, v in week.client.items()},
                "agency": {name.value: _rounded(v, 3) for name, v in week.agency.items()},
            }
            for week in risk.weekly
        ],
        "early_warning": None
        if early is None
        else {
            "weeks": early.weeks,
            "start": early.window.start.astimezone(zone).isoformat(),
            "end": early.window.end.astimezone(zone).isoformat(),
            "score": early.score,
            "level": None if early.level is None else early.level.value,
            "resembles": early.resembles,
            "neighbours": [
                {
                    "client": n.client,
                    "distance": n.distance,
                    "score": n.score,
                    "level": None if n.level is None else n.level.value,
                }
                for n in early.neighbours
            ],
            "signals": {name.value: _rounded(v, 3) for name, v in early.signals.items()},
        },
        "agency_score": risk.agency_score,
        "window": {
            "start": risk.window.start.astimezone(zone).isoformat(),
            "end": risk.window.end.astimezone(zone).isoformat(),
        },
        "shortage": None if risk.shortage is None else risk.shortage.value,
        "actions": risk.actions,
        "findings": {
            "client": [_finding(f, zone, browse_url) for f in risk.reading.client_findings],
            "agency": [_finding(f, zone, browse_url) for f in risk.reading.agency_findings],
        },
        "pm_change_requests": [
            _evidence(e, zone, browse_url) for e in risk.reading.pm_change_requests
        ],
    }
