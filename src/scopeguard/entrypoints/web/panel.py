"""The scope panel and the portfolio dashboard: server-rendered pages and their charts.

Routes (all behind :func:`scopeguard.entrypoints.web.auth.require_panel_access`):

- ``/`` — the portfolio: every client's health, creep, issues over the revision
  allowance, reopens and last sync; sortable with ``?sort=<column>&dir=asc|desc``.
- ``/clients/<key>`` — the scope panel of one client, with its alert delivery log
  and its archived monthly reports.
- ``/clients/<key>/issues/<issue key>`` — one issue's evidence trail.
- ``/clients/<key>/charts/<name>.png|.svg`` — ``creep`` (``?unit=``), ``revisions``,
  ``activity``.
- ``/portfolio/charts/<key>.png|.svg`` — the small chart of one client.

Pages are Jinja templates with autoescaping (issue summaries are written by
clients) and no JavaScript at all, which the Content-Security-Policy states.
Rendered charts and the client page's main content are cached per client
snapshot and language (:mod:`scopeguard.entrypoints.web.render_cache`), the admins'
per-person effort per snapshot, so after the first view they cost a dictionary lookup
until the next sync changes the client.
The delivery log and the report list change without a sync (a dispatch, a
report run), so they are rendered on every view, outside the cached part.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup

from scopeguard.adapters.charts import (
    CHART_NAMES,
    ChartFormat,
    chart_description,
    portfolio_chart,
    render_chart,
)
from scopeguard.adapters.store.alert_log import delivery_log
from scopeguard.adapters.store.report_archive import list_reports
from scopeguard.config import ClientSettings
from scopeguard.domain.contract import ScopeUnit
from scopeguard.domain.effort import EffortBreakdown
from scopeguard.domain.month import Month
from scopeguard.entrypoints.web import auth, language
from scopeguard.entrypoints.web.context import client_or_404, services
from scopeguard.entrypoints.web.language import current_language
from scopeguard.entrypoints.web.render_cache import RenderCache, RenderKey
from scopeguard.presentation.formatting import (
    format_day,
    format_moment,
    format_money,
    format_number,
    format_percent,
    health_label,
    unit_label,
)
from scopeguard.presentation.panel_view import (
    LIST_NAMES,
    EffortLine,
    ListName,
    PortfolioRow,
    SortKey,
    default_direction,
    first_lines,
    issue_lines,
    list_keys,
    page_count,
    parse_sort,
    round_hours,
    sort_rows,
    unit_rows,
)
from scopeguard.presentation.report_formatting import Formatter
from scopeguard.presentation.risk_view import risk_view, trend_svg
from scopeguard.usecases.snapshots import Snapshot

blueprint = Blueprint(
    "panel",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/panel-static",
)

_CHARTS = "scopeguard.chart_cache"
_PAGES = "scopeguard.page_cache"
_LISTS = "scopeguard.list_cache"
_BREAKDOWNS = "scopeguard.breakdown_cache"
CHART_CACHE_ENTRIES = 512
PAGE_CACHE_ENTRIES = 128
LIST_CACHE_ENTRIES = 64
"""Ordered key lists (five per client): a page slices one instead of sorting the client."""
BREAKDOWN_CACHE_ENTRIES = 64
"""Per-person effort breakdowns (one per client, for admins)."""
PANEL_LIST_LIMIT = 50
"""Issues per list on the client page; the rest are one click away, paginated."""
PANEL_TRAILS = 20
"""Evidence trails on the client page (the most revised issues)."""
"""Issues per page of ``/clients/<key>/issues``."""
EFFORT_TOP = 10
"""Issues in the effort block's table of unbilled time."""
DELIVERY_LOG_LIMIT = 50
"""Alert deliveries shown on the client page (the latest)."""
CHART_MAX_AGE = 300
"""Seconds a browser may reuse a chart; URLs carry the snapshot stamp, so a sync
changes the URL and a stale image is never shown for long."""


def init_app(app: Flask) -> None:
    """Language, sign-in, caches and the panel routes."""
    language.init_app(app)
    auth.init_app(app)
    app.extensions[_CHARTS] = RenderCache[bytes](CHART_CACHE_ENTRIES)
    app.extensions[_PAGES] = RenderCache[str](PAGE_CACHE_ENTRIES)
    app.extensions[_LISTS] = RenderCache[tuple[str, ...]](LIST_CACHE_ENTRIES)
    app.extensions[_BREAKDOWNS] = RenderCache[EffortBreakdown](BREAKDOWN_CACHE_ENTRIES)
    app.context_processor(_template_helpers)
    app.register_blueprint(blueprint)


def chart_cache() -> RenderCache[bytes]:
    """The app's rendered-chart cache."""
    found: RenderCache[bytes] = current_app.extensions[_CHARTS]
    return found


def page_cache() -> RenderCache[str]:
    """The app's cache of rendered client pages (main content)."""
    found: RenderCache[str] = current_app.extensions[_PAGES]
    return found


@blueprint.before_request
def _guard() -> Any:
    if request.endpoint == "panel.static":
        return None  # the stylesheet: the sign-in page needs it before anyone signs in
    return auth.require_panel_access()


@blueprint.after_request
def _headers(response: Response) -> Response:
    # The security headers are the app's (guard.py); pages differ by who and which language.
    response.vary.update(("Cookie", "Accept-Language"))
    return response


# -- helpers --------------------------------------------------------------------


def snapshot_stamp(snapshot: Snapshot) -> str:
    """The snapshot's ``computed_at`` as UTC ISO 8601: the cache key of what it renders."""
    moment = snapshot.computed_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _etag(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _image(body: bytes, fmt: ChartFormat, etag: str) -> Response:
    response = Response(body, mimetype="image/png" if fmt == "png" else "image/svg+xml")
    response.set_etag(etag)
    response.cache_control.private = True
    response.cache_control.max_age = CHART_MAX_AGE
    response.make_conditional(request)  # 304 when the browser holds this very image
    return response


def _template_helpers() -> dict[str, Any]:
    lang = current_language()
    settings = services().settings
    zone = settings.agency.zone

    def lang_url(code: str) -> str:
        # Keys starting with "_" are url_for's own (_external, _method, _scheme,
        # _anchor): from the query string they would build links to another host.
        query = {k: v for k, v in request.args.items() if not k.startswith("_")}
        values: dict[str, Any] = {**(request.view_args or {}), **query}
        values["lang"] = code
        return url_for(request.endpoint or "panel.portfolio", **values)

    return {
        "lang": lang,
        "lang_url": lang_url,
        "num": lambda value, decimals=2: format_number(value, lang, decimals=decimals),
        "pct": lambda value: format_percent(value, lang),
        "money": lambda amount, currency: format_money(amount, currency, lang),
        "moment": lambda value: format_moment(value, zone, lang),
        "iso": lambda value: value.astimezone(zone).isoformat(),
        "day": lambda value: (
            format_day(value.astimezone(zone).date(), lang)
            if isinstance(value, datetime)
            else format_day(value, lang)
        ),
        "unit_name": lambda unit: unit_label(unit, lang),
        "health_name": lambda health: health_label(health, lang),
        "agency_name": settings.agency.name,
        "agency_zone": settings.agency.timezone,
        "signed_in": auth.signed_in(),
        "principal": auth.principal(),
        "csrf_token": auth.csrf_token,
        "jira_url": settings.jira.browse_url,
    }


def ordered_keys(client_key: str, snapshot: Snapshot, name: ListName) -> tuple[str, ...]:
    """The issue keys of one of the panel's lists, in the panel's order, once per snapshot.

    Ordering the most revised issues sorts every issue of the client: for 20,000
    issues that is longer than rendering the page, so a page of the list must not
    do it again.
    """
    cache: RenderCache[tuple[str, ...]] = current_app.extensions[_LISTS]
    return cache.get_or_render(
        RenderKey(client_key, snapshot_stamp(snapshot), ("keys", name)),
        lambda: tuple(list_keys(snapshot.summary, name)),
    )


def _render_cached(key: RenderKey, render: Callable[[], str]) -> Markup:
    return Markup(page_cache().get_or_render(key, render))  # our own template's output


def _effort_breakdown(client: ClientSettings, stamp: str) -> EffortBreakdown:
    """The client's effort per person, once per snapshot: it decodes every fact and loads
    every worklog, and changed worklogs (or facts) always make a new snapshot."""
    cache: RenderCache[EffortBreakdown] = current_app.extensions[_BREAKDOWNS]
    return cache.get_or_render(
        RenderKey(client.key, stamp, ("effort-breakdown",)),
        lambda: services().analysis.effort_breakdown(client),
    )


# -- pages --------------------------------------------------------------------------


@blueprint.get("/")
def portfolio() -> str:
    """Every client, sortable; worst health first by default."""
    analysis = services().analysis
    lang = current_language()
    rows: list[PortfolioRow] = []
    stamps: dict[str, str] = {}
    who = auth.principal()
    show_risk = who is not None and who.is_admin  # the risk column is internal
    scores = services().risk.scores() if show_risk else {}
    for client in services().settings.clients:
        if not auth.can_see(client.key):
            continue  # a pm's portfolio is their clients
        snapshot = analysis.snapshot(client)
        rows.append(PortfolioRow.of(snapshot.figures, scores.get(client.key)))
        stamps[client.key] = snapshot_stamp(snapshot)
    sort, direction = parse_sort(
        request.args.get("sort"), request.args.get("dir"), internal=show_risk
    )
    ordered = sort_rows(rows, sort, direction)

    def sort_url(column: SortKey) -> str:
        if column == sort:
            flip = "asc" if direction == "desc" else "desc"
            return url_for("panel.portfolio", sort=column, dir=flip)
        return url_for("panel.portfolio", sort=column, dir=default_direction(column))

    return render_template(
        "panel/portfolio.html",
        rows=ordered,
        show_risk=show_risk,
        sort=sort,
        direction=direction,
        sort_url=sort_url,
        chart_alt={
            row.key: chart_description("portfolio", row.figures, language=lang) for row in rows
        },
        stamps=stamps,
    )


@blueprint.get("/clients/<key>")
def client_page(key: str) -> str:
    """The scope panel of one client."""
    client = client_or_404(key)
    snapshot = services().analysis.snapshot(client)
    lang = current_language()
    stamp = snapshot_stamp(snapshot)
    main = _render_cached(
        RenderKey(client.key, stamp, ("client-page", lang)),
        lambda: render_template("panel/client_main.html", **_client_context(client, snapshot)),
    )
    # Deliveries and reports change without a new snapshot: never from the cache;
    # nor does what only admins see (the cached part is the same for every role).
    who = auth.principal()
    internal = who is not None and who.is_admin
    return render_template(
        "panel/client.html",
        client=client,
        main=main,
        internal=internal,
        can_export=internal,
        exports=_client_exports(client.key) if internal else [],
        # Per person: the agency's own business, computed for admins only.
        effort_breakdown=_effort_breakdown(client, stamp) if internal else None,
        **_activity_context(client),
        **(_risk_context(client) if internal else {"risk": None}),
    )


def _risk_context(client: ClientSettings) -> dict[str, Any]:
    """The client's stored risk for the internal section (assessed first when stale)."""
    stored = services().risk.current().get(client.key)
    if stored is None:
        return {"risk": None}
    lang = current_language()
    view = risk_view(stored.document, services().settings.agency.zone, lang)
    _ = language.gettext
    trend = trend_svg(
        view.weekly,
        title=_("Risk trend"),
        client_label=_("Client side"),
        agency_label=_("Agency side"),
    )
    return {"risk": view, "risk_trend": Markup(trend)}  # numbers and escaped labels only


INTERNAL_ENTRIES = 20
"""Audit lines about a client in its internal section."""


def _client_exports(client_key: str) -> list[Any]:
    return services().people.audit_log(limit=INTERNAL_ENTRIES, target=client_key)


def _activity_context(client: ClientSettings) -> dict[str, Any]:
    """The client's alert delivery log and archived reports, with their labels."""
    with services().database.session() as session:
        deliveries = delivery_log(session, client.key, limit=DELIVERY_LOG_LIMIT)
        reports = list_reports(session, client.key)
    _ = language.gettext
    events = {
        "revision_limit_exceeded": _("Revision limit exceeded"),
        "revision_total_exceeded": _("Total revision limit exceeded"),
        "reopen_limit_exceeded": _("Reopen limit exceeded"),
        "scope_creep_threshold": _("Scope creep threshold reached"),
        "revision_limit_digest": _("Revision limits exceeded (digest)"),
        "unbilled_hours_threshold": _("Unbilled hours threshold reached"),
        "client_risk_high": _("Client risk is high"),
        "test": _("Test alert"),
    }
    channels = {
        "webhook": _("Webhook"),
        "email": _("Email"),
        "slack": "Slack",
        "teams": "Microsoft Teams",
    }
    statuses = {
        "pending": _("Pending"),
        "sending": _("Sending"),
        "delivered": _("Delivered"),
        "failed": _("Failed"),
    }
    languages = {"en": _("English"), "ru": _("Russian")}
    formatter = Formatter(
        current_language(), services().settings.agency.zone, client.contract.currency
    )
    return {
        "deliveries": deliveries,
        "delivery_limit": DELIVERY_LOG_LIMIT,
        "digest_after": services().settings.alerts.digest_after,
        "digest_size": services().settings.alerts.digest_size,
        "reports": reports,
        "event_name": lambda event: events.get(event, event),
        "channel_name": lambda channel: channels.get(channel, channel),
        "status_name": lambda status: statuses.get(status, status),
        "language_name": lambda code: languages.get(code, code),
        "month_name": lambda month: formatter.month(Month.parse(month)),
    }


def _client_context(client: ClientSettings, snapshot: Snapshot) -> dict[str, Any]:
    lang = current_language()
    figures = snapshot.figures
    summary, series = figures.summary, figures.series
    lists = {name: ordered_keys(client.key, snapshot, name) for name in LIST_NAMES}
    shown = {
        name: keys[: PANEL_TRAILS if name == "revised" else PANEL_LIST_LIMIT]
        for name, keys in lists.items()
    }
    effort = figures.effort
    top = effort.top_unbilled[:EFFORT_TOP] if effort is not None else []
    # Only the issues the page shows are read, however many the client has.
    wanted = {k for ks in shown.values() for k in ks} | {e.key for e in top}
    facts = services().analysis.facts_of(client, sorted(wanted))
    stamp = snapshot_stamp(snapshot)

    def chart_url(name: str, fmt: str = "png", unit: str | None = None) -> str:
        values: dict[str, Any] = {"key": client.key, "name": name, "fmt": fmt, "lang": lang}
        if unit is not None:
            values["unit"] = unit
        values["v"] = stamp  # a new snapshot, a new URL: browsers never show a stale chart
        return url_for("panel.client_chart", **values)

    return {
        "client": client,
        "figures": figures,
        "summary": summary,
        "units": unit_rows(summary),
        "creep_alert_percent": client.contract.creep_alert_percent,
        "over_limit": first_lines(summary, facts, lists["over_limit"], PANEL_LIST_LIMIT),
        "approved": first_lines(summary, facts, lists["approved"], PANEL_LIST_LIMIT),
        "creep_issues": first_lines(summary, facts, lists["creep"], PANEL_LIST_LIMIT),
        "removed": first_lines(summary, facts, lists["removed"], PANEL_LIST_LIMIT),
        "trails": first_lines(summary, facts, lists["revised"], PANEL_TRAILS),
        "effort": effort,
        "effort_top": [
            EffortLine(e.key, facts[e.key].summary if e.key in facts else "", e) for e in top
        ],
        "round_hours": round_hours(effort),
        "creep_charts": [
            {
                "unit": unit,
                "src": chart_url("creep", unit=unit),
                "svg": chart_url("creep", fmt="svg", unit=unit),
                "alt": chart_description("creep", figures, language=lang, unit=unit),
            }
            for unit in series.units
        ],
        "revisions_chart": {
            "src": chart_url("revisions"),
            "alt": chart_description("revisions", figures, language=lang),
        },
        "activity_chart": {
            "src": chart_url("activity"),
            "alt": chart_description("activity", figures, language=lang),
        },
    }


def _list_labels() -> list[tuple[ListName, str]]:
    _ = language.gettext
    labels: dict[ListName, str] = {
        "revised": _("Issues with revision rounds"),
        "over_limit": _("Issues over the allowance"),
        "approved": _("Approved change requests"),
        "creep": _("Creep: added without approval"),
        "removed": _("Removed since the baseline"),
    }
    return [(name, labels[name]) for name in LIST_NAMES]


@blueprint.get("/clients/<key>/issues")
def issue_list(key: str) -> str:
    """One of the panel's issue lists in full, with trails, a page at a time."""
    client = client_or_404(key)
    name = next((n for n in LIST_NAMES if n == request.args.get("list", "revised")), None)
    if name is None:
        abort(404)
    # ASCII digits only (int() also takes "١" and " 1_0 "), and no page beyond a million.
    page_text = request.args.get("page", "1")
    if not (page_text.isascii() and page_text.isdigit() and len(page_text) <= 6):
        abort(404)
    page = int(page_text)
    snapshot = services().analysis.snapshot(client)
    keys = ordered_keys(client.key, snapshot, name)
    size = services().settings.web.page_size
    pages = page_count(len(keys), size)
    if not 1 <= page <= pages:
        abort(404)
    lang = current_language()
    labels = _list_labels()
    heading = dict(labels)[name]

    def render() -> str:
        chosen = keys[(page - 1) * size : page * size]
        facts = services().analysis.facts_of(client, chosen)
        return render_template(
            "panel/issues_main.html",
            client=client,
            heading=heading,
            lists=labels,
            list_name=name,
            lines=issue_lines(snapshot.summary, facts, chosen),
            total=len(keys),
            page=page,
            pages=pages,
        )

    main = _render_cached(
        RenderKey(client.key, snapshot_stamp(snapshot), ("issues", name, page, lang)), render
    )
    return render_template(
        "panel/issues.html", client=client, heading=heading, list_name=name, main=main
    )


@blueprint.get("/clients/<key>/issues/<issue_key>")
def issue_page(key: str, issue_key: str) -> str:
    """One issue's evidence trail: every revision round with time, author, from → to."""
    client = client_or_404(key)
    trail = services().analysis.issue_trail(client, issue_key)
    if trail is None:
        abort(404)
    return render_template("panel/issue.html", client=client, trail=trail)


# -- charts --------------------------------------------------------------------------


@blueprint.get("/clients/<key>/charts/<name>.<any(png, svg):fmt>")
def client_chart(key: str, name: str, fmt: ChartFormat) -> Response:
    """A chart of one client, in the request's language."""
    if name not in CHART_NAMES:
        abort(404)
    client = client_or_404(key)
    snapshot = services().analysis.snapshot(client)
    unit: ScopeUnit | None = None
    if name == "creep":
        asked = request.args.get("unit")
        unit = snapshot.summary.scope.unit if asked is None else _unit(asked)
        if unit is None or unit not in snapshot.series.units:
            abort(404)
    lang = current_language()
    stamp = snapshot_stamp(snapshot)
    what = (name, lang, fmt, unit or "")
    body = chart_cache().get_or_render(
        RenderKey(client.key, stamp, what),
        lambda: render_chart(name, snapshot.figures, language=lang, fmt=fmt, unit=unit),
    )
    return _image(body, fmt, _etag(client.key, stamp, *what))


@blueprint.get("/portfolio/charts/<key>.<any(png, svg):fmt>")
def portfolio_chart_image(key: str, fmt: ChartFormat) -> Response:
    """The small chart of one client for the portfolio."""
    client = client_or_404(key)
    snapshot = services().analysis.snapshot(client)
    lang = current_language()
    stamp = snapshot_stamp(snapshot)
    what = ("portfolio", lang, fmt)
    body = chart_cache().get_or_render(
        RenderKey(client.key, stamp, what),
        lambda: portfolio_chart(snapshot.figures, language=lang, fmt=fmt),
    )
    return _image(body, fmt, _etag(client.key, stamp, *what))


def _unit(name: str) -> ScopeUnit | None:
    try:
        return ScopeUnit(name)
    except ValueError:
        return None


@blueprint.errorhandler(404)
def not_found(_error: Exception) -> tuple[str, int]:
    """A page in the panel's style for unknown clients, issues and charts."""
    return render_template("panel/error.html"), 404
