"""The panel and portfolio pages, their charts, language and sign-in, over the synced agency.

Pages are requested through Flask's test client (the browser test drives a real
socket and Chromium); every figure on a page is checked against the JSON API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from scopeguard.config import ConfigError, parse_settings
from scopeguard.entrypoints.web import create_app
from scopeguard.entrypoints.web.panel import PANEL_LIST_LIMIT, PANEL_TRAILS
from scopeguard.presentation.formatting import format_moment
from tests.support import clock
from tests.support.agency import Agency, build_agency
from tests.support.html import Node, parse
from tests.support.people import PASSWORD, add_people, sign_in
from tests.support.services import pinned_services

HOSTILE = "<script>alert('pwned')</script> & <b>bold</b>"
TOKEN = "panel-test-token-0123"


# -- a small DOM for reading pages --------------------------------------------------------


# -- fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def panel_agency(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agency]:
    """The sample agency, with a client-written summary that tries to inject markup."""
    for agency in build_agency(tmp_path_factory.mktemp("panel")):
        agency.dataset.set_field("TOX-9", "summary", HOSTILE, clock.now())
        agency.services.sync.sync_client(agency.settings.client("TOX"))
        yield agency


@pytest.fixture(scope="module")
def app(panel_agency: Agency) -> Flask:
    return create_app(services=panel_agency.services)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()  # a fresh cookie jar per test


def page(client: FlaskClient, path: str, status: int = 200, **headers: str) -> Node:
    response = client.get(path, headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "text/html"
    return parse(response.get_data(as_text=True))


def api(client: FlaskClient, path: str) -> Any:
    response = client.get(f"/api/v1{path}")
    assert response.status_code == 200
    return response.get_json()


def number(text: str) -> float:
    """A figure as the English page shows it: ``1,234.5`` → 1234.5."""
    match = re.search(r"-?[\d,]+(?:\.\d+)?", text)
    assert match, text
    return float(match.group().replace(",", ""))


# -- the portfolio -----------------------------------------------------------------------


def test_portfolio_shows_every_client_with_the_api_figures(client: FlaskClient) -> None:
    doc = page(client, "/")
    rows = {
        row.attrs["data-client"]: row for row in doc.find_all("tr") if "data-client" in row.attrs
    }
    assert set(rows) == {c["key"] for c in api(client, "/clients")}
    for key, row in rows.items():
        summary = api(client, f"/clients/{key}/summary")
        assert summary["name"] in row.find("th").text
        assert row.find("td", data_field="health").find("span").attrs["class"] == (
            f"health health-{summary['health']}"
        )
        creep = row.find("td", data_field="creep")
        assert float(creep.attrs["data-value"]) == summary["scope"]["creep_percent"]
        assert f"{summary['scope']['creep_percent']:.1f}%" in creep.text
        over = row.find("td", data_field="over_limit")
        assert int(over.attrs["data-value"]) == len(summary["revisions"]["over_limit"])
        assert int(row.find("td", data_field="reopens").text) == summary["reopens"]["total"]
        synced = row.find("td", data_field="last_sync").find("time")
        assert synced.attrs["datetime"] == summary["sync"]["last_success"]


def order(doc: Node) -> list[str]:
    return [row.attrs["data-client"] for row in doc.find_all("tr") if "data-client" in row.attrs]


def test_portfolio_puts_the_worst_health_first(client: FlaskClient) -> None:
    rank = {"breach": 2, "warning": 1, "ok": 0}
    health = [api(client, f"/clients/{key}/summary")["health"] for key in order(page(client, "/"))]
    assert [rank[h] for h in health] == sorted((rank[h] for h in health), reverse=True)
    assert order(page(client, "/"))[0] == "TOX"


@pytest.mark.parametrize(
    ("sort", "direction", "field"),
    [
        ("name", "asc", "name"),
        ("name", "desc", "name"),
        ("reopens", "desc", "reopens"),
        ("creep", "asc", "creep"),
        ("over_limit", "desc", "over_limit"),
    ],
)
def test_portfolio_sorts_by_any_column(
    client: FlaskClient, sort: str, direction: str, field: str
) -> None:
    doc = page(client, f"/?sort={sort}&dir={direction}")
    summaries = {
        c["key"]: api(client, f"/clients/{c['key']}/summary") for c in api(client, "/clients")
    }

    def value(key: str) -> Any:
        s = summaries[key]
        return {
            "name": s["name"].casefold(),
            "reopens": s["reopens"]["total"],
            "creep": s["scope"]["creep_percent"],
            "over_limit": len(s["revisions"]["over_limit"]),
        }[field]

    shown = [value(key) for key in order(doc)]
    assert shown == sorted(shown, reverse=direction == "desc")
    sorted_headers = [th for th in doc.find_all("th") if "aria-sort" in th.attrs]
    assert len(sorted_headers) == 1
    header = sorted_headers[0]
    assert header.attrs["aria-sort"] == ("ascending" if direction == "asc" else "descending")
    assert header.attrs["scope"] == "col"
    flipped = "desc" if direction == "asc" else "asc"
    assert header.find("a").attrs["href"] == f"/?sort={sort}&dir={flipped}"


def test_an_unknown_sort_falls_back_to_the_default(client: FlaskClient) -> None:
    assert order(page(client, "/?sort=drop+table&dir=sideways")) == order(page(client, "/"))


def test_portfolio_has_a_small_chart_per_client(client: FlaskClient) -> None:
    doc = page(client, "/")
    images = doc.find("ul", **{"class": "cards"}).find_all("img")
    assert len(images) == len(api(client, "/clients"))
    for image in images:
        assert image.attrs["alt"].strip()
        response = client.get(image.attrs["src"])
        assert response.status_code == 200
        assert response.mimetype == "image/png"
        assert response.data[:8] == b"\x89PNG\r\n\x1a\n"


# -- the scope panel -----------------------------------------------------------------


def test_panel_scope_table_matches_the_api(client: FlaskClient) -> None:
    summary = api(client, "/clients/TOX/summary")
    series = api(client, "/clients/TOX/timeseries")
    doc = page(client, "/clients/TOX")
    rows = {row.attrs["data-unit"]: row for row in doc.find_all("tr") if "data-unit" in row.attrs}
    assert list(rows) == [summary["scope"]["unit"]] + [
        u for u in summary["scope"]["by_unit"] if u != summary["scope"]["unit"]
    ]
    latest = series["days"][-1]["units"]
    for unit, row in rows.items():
        figures = summary["scope"]["by_unit"][unit]
        cell = {
            name: number(row.find("td", data_field=name).text)
            for name in (
                "contracted",
                "baseline",
                "approved",
                "added",
                "inflation",
                "creep",
                "in_scope",
            )
        }
        assert cell["contracted"] == figures["contracted"]
        assert cell["approved"] == figures["approved"]
        assert cell["added"] == figures["added"]
        assert cell["inflation"] == figures["inflation"]
        assert cell["creep"] == figures["creep"]
        assert cell["baseline"] == latest[unit]["baseline"]
        assert cell["in_scope"] == pytest.approx(
            latest[unit]["baseline"] + figures["approved"] + figures["creep"]
        )
        assert f"({figures['creep_percent']:.1f}%)" in row.find("td", data_field="creep").text


def test_panel_lists_over_limit_issues_with_jira_links(
    client: FlaskClient, panel_agency: Agency
) -> None:
    summary = api(client, "/clients/TOX/summary")
    doc = page(client, "/clients/TOX")
    table = doc.find("table", **{"class": "over-limit"})
    rows = [row for row in table.find_all("tr") if "data-issue" in row.attrs]
    by_issue = summary["revisions"]["by_issue"]
    order = list(by_issue)
    most_first = sorted(
        summary["revisions"]["over_limit"], key=lambda k: (-by_issue[k], order.index(k))
    )
    assert [row.attrs["data-issue"] for row in rows] == most_first[:PANEL_LIST_LIMIT]
    base = panel_agency.settings.jira.base_url
    limit = summary["revisions"]["per_issue_limit"]
    for row in rows:
        key = row.attrs["data-issue"]
        assert row.find("a").attrs["href"] == f"{base}/browse/{key}"
        revisions = summary["revisions"]["by_issue"][key]
        assert int(row.find("td", data_field="revisions").text) == revisions
        assert int(row.find("td", data_field="beyond").text) == revisions - limit
        assert int(row.find("td", data_field="reopens").text) == summary["reopens"]["by_issue"].get(
            key, 0
        )


def test_panel_splits_added_scope_into_approved_and_creep(client: FlaskClient) -> None:
    summary = api(client, "/clients/TOX/summary")
    doc = page(client, "/clients/TOX")

    def listed(kind: str) -> list[str]:
        found = doc.find_all("ul", data_list=kind)
        return [li.attrs["data-issue"] for li in found[0].find_all("li")] if found else []

    scope = summary["scope"]
    assert listed("approved") == scope["approved_changes"][:PANEL_LIST_LIMIT]
    assert listed("creep") == scope["added"][:PANEL_LIST_LIMIT]
    assert listed("removed") == scope["removed"][:PANEL_LIST_LIMIT]
    assert scope["added"], "the demanding client adds scope without approval"


def check_trails(client: FlaskClient, doc: Node, keys: list[str]) -> None:
    """Each issue's rounds on the page are the API's evidence trail, in the agency zone."""
    trails = {d.attrs["data-issue"]: d for d in doc.find_all("details")}
    assert list(trails) == keys
    zone = clock.AGENCY_ZONE
    for key in keys:
        expected = api(client, f"/clients/TOX/issues/{key}")["revisions"]
        rounds = [row for row in trails[key].find_all("tr") if "data-round" in row.attrs]
        assert len(rounds) == len(expected)
        for shown, trail in zip(rounds, expected, strict=True):
            cells = shown.find_all("td")
            at = datetime.fromisoformat(trail["at"])
            assert datetime.fromisoformat(cells[1].find("time").attrs["datetime"]) == at
            # Shown in the agency zone, not UTC.
            assert at.astimezone(zone).strftime("%H:%M") in cells[1].text
            assert cells[1].text == format_moment(at, zone, "en")
            assert cells[2].text == trail["author"]
            assert trail["from_status"] in cells[3].text and trail["to_status"] in cells[3].text
            assert ("beyond the allowance" in cells[4].text) == trail["beyond_allowance"]
            assert ("reopened" in cells[4].text) == trail["is_reopen"]


def most_revised(summary: dict[str, Any]) -> list[str]:
    by_issue = summary["revisions"]["by_issue"]
    order = list(by_issue)
    return sorted(by_issue, key=lambda k: (-by_issue[k], order.index(k)))


def test_panel_shows_the_most_revised_trails_in_the_agency_zone(client: FlaskClient) -> None:
    summary = api(client, "/clients/TOX/summary")
    doc = page(client, "/clients/TOX")
    keys = most_revised(summary)
    check_trails(client, doc.find("section", aria_labelledby="trails-heading"), keys[:PANEL_TRAILS])
    if len(keys) > PANEL_TRAILS:
        more = doc.find("section", aria_labelledby="trails-heading").find("p", **{"class": "more"})
        assert more.find("a").attrs["href"] == "/clients/TOX/issues?list=revised"
        assert f"Show all {len(keys)} issues" in more.text


def test_issue_lists_show_every_trail_page_by_page(
    panel_agency: Agency,
) -> None:
    settings = panel_agency.settings
    web = settings.web.model_copy(update={"page_size": 10})
    services = pinned_services(settings.model_copy(update={"web": web}), migrate=False)
    client = create_app(services=services).test_client()  # fresh caches
    summary = api(client, "/clients/TOX/summary")
    keys = most_revised(summary)
    pages = -(-len(keys) // 10)
    assert pages > 1
    seen: list[str] = []
    for number in range(1, pages + 1):
        doc = page(client, f"/clients/TOX/issues?list=revised&page={number}")
        chunk = keys[(number - 1) * 10 : number * 10]
        check_trails(client, doc.find("main"), chunk)
        seen += chunk
        pager = doc.find("nav", aria_label="Pages")
        assert (number < pages) == bool(pager.find_all("a", rel="next"))
        assert (number > 1) == bool(pager.find_all("a", rel="prev"))
    assert seen == keys
    page(client, f"/clients/TOX/issues?list=revised&page={pages + 1}", 404)
    page(client, "/clients/TOX/issues?list=everything", 404)
    page(client, "/clients/TOX/issues?page=x", 404)


@pytest.mark.parametrize(
    ("name", "field"),
    [("approved", "approved_changes"), ("creep", "added"), ("removed", "removed")],
)
def test_issue_lists_match_the_summary(
    panel_agency: Agency, client: FlaskClient, name: str, field: str
) -> None:
    summary = api(client, "/clients/TOX/summary")
    doc = page(client, f"/clients/TOX/issues?list={name}")
    shown = [d.attrs["data-issue"] for d in doc.find("main").find_all("details")]
    assert shown == summary["scope"][field][: panel_agency.settings.web.page_size]
    tabs = doc.find("nav", aria_label="Issue lists")
    assert tabs.find("a", aria_current="page").attrs["href"] == f"/clients/TOX/issues?list={name}"


def test_panel_charts_have_text_alternatives_and_load(client: FlaskClient) -> None:
    series = api(client, "/clients/TOX/timeseries")
    doc = page(client, "/clients/TOX")
    images = doc.find_all("img")
    # One scope chart per unit the contract names, the revisions and the activity chart.
    assert len(images) == len(series["units"]) + 2
    for image in images:
        assert len(image.attrs["alt"]) > 20
        response = client.get(image.attrs["src"])
        assert response.status_code == 200 and response.mimetype == "image/png"
    for unit in series["units"]:
        assert any(f"unit={unit}" in image.attrs["src"] for image in images)


def test_client_text_is_escaped_everywhere(client: FlaskClient) -> None:
    for path in ("/clients/TOX", "/clients/TOX/issues/TOX-9", "/clients/TOX?lang=ru"):
        html = client.get(path).get_data(as_text=True)
        assert "<script" not in html
        assert "<b>bold</b>" not in html
        assert (
            "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"
            in html
        )
    doc = page(client, "/clients/TOX")
    row = doc.find("tr", data_issue="TOX-9")
    assert row.find("td", **{"class": "summary-text"}).text == HOSTILE  # shown as text


def test_pages_forbid_scripts_and_allow_the_jira_frame(
    client: FlaskClient, panel_agency: Agency
) -> None:
    response = client.get("/clients/TOX")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert panel_agency.settings.jira.base_url in policy
    assert "https://*.atlassian.net" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_have_landmarks_and_a_skip_link(client: FlaskClient) -> None:
    for path in ("/", "/clients/TOX", "/clients/TOX/issues/TOX-2"):
        doc = page(client, path)
        skip = doc.find("a", **{"class": "skip-link"})
        assert skip.attrs["href"] == "#main"
        assert doc.find("main").attrs["id"] == "main"
        assert doc.find_all("header") and doc.find_all("footer") and doc.find_all("nav")
        assert len(doc.find_all("h1")) == 1
        for th in doc.find("main").find_all("th"):
            if th.find_all("a") or th.text:
                assert th.attrs.get("scope") in ("col", "row"), th.text


# -- the evidence page -----------------------------------------------------------------


def test_evidence_page_matches_the_api_trail(client: FlaskClient) -> None:
    trail = api(client, "/clients/TOX/issues/TOX-9")
    doc = page(client, "/clients/TOX/issues/TOX-9")
    rows = doc.find("tbody").find_all("tr")
    assert [int(r.attrs["data-round"]) for r in rows] == [r["number"] for r in trail["revisions"]]
    assert doc.find("dd", data_field="reopens").text == str(len(trail["reopens"]))
    assert doc.find("a", href=trail["url"])
    rounds = doc.find("dd", data_field="rounds").text
    assert rounds.startswith(
        f"{len(trail['revisions'])} of {trail['revisions_per_issue']} included"
    )


def test_unknown_clients_issues_and_charts_are_404(client: FlaskClient) -> None:
    page(client, "/clients/NOPE", 404)
    page(client, "/clients/TOX/issues/TOX-999", 404)
    assert client.get("/clients/TOX/charts/pie.png").status_code == 404
    assert client.get("/clients/TOX/charts/creep.png?unit=furlongs").status_code == 404
    assert client.get("/clients/TOX/charts/creep.gif").status_code == 404
    assert client.get("/portfolio/charts/NOPE.png").status_code == 404


# -- charts over HTTP --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["creep", "revisions", "activity"])
def test_chart_routes_serve_png_and_svg(client: FlaskClient, name: str) -> None:
    png = client.get(f"/clients/TOX/charts/{name}.png")
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    svg = client.get(f"/clients/TOX/charts/{name}.svg?lang=ru")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert b"<svg" in svg.data and b"</svg>" in svg.data
    assert "private" in png.headers["Cache-Control"]


def test_creep_chart_is_drawn_in_the_requested_unit(client: FlaskClient) -> None:
    issues = client.get("/clients/TOX/charts/creep.svg?unit=issues").get_data(as_text=True)
    hours = client.get("/clients/TOX/charts/creep.svg?unit=hours").get_data(as_text=True)
    assert "Scope in issues against the contract" in issues
    assert "Scope in hours against the contract" in hours


def test_charts_are_cached_until_a_sync_changes_the_client(
    app: Flask, client: FlaskClient, panel_agency: Agency
) -> None:
    cache = app.extensions["scopeguard.chart_cache"]
    first = client.get("/clients/HLT/charts/activity.png")
    renders = cache.stats.renders
    again = client.get("/clients/HLT/charts/activity.png")
    assert again.data == first.data
    assert cache.stats.renders == renders  # served from the cache
    assert (
        client.get(
            "/clients/HLT/charts/activity.png", headers={"If-None-Match": first.headers["ETag"]}
        ).status_code
        == 304
    )

    # A new revision round in Jira, then a sync: a new snapshot, a new chart.
    before = api(client, "/clients/HLT/summary")["revisions"]["total"]
    issue = panel_agency.dataset.issue("HLT-3")
    moment = clock.now() - timedelta(minutes=2)  # in the past: counted as of now
    if issue.status.name != "Client Review":
        panel_agency.dataset.transition("HLT-3", "Client Review", moment)
    panel_agency.dataset.transition("HLT-3", "In Progress", moment + timedelta(seconds=30))
    panel_agency.services.sync.sync_client(panel_agency.settings.client("HLT"))
    assert api(client, "/clients/HLT/summary")["revisions"]["total"] == before + 1
    changed = client.get("/clients/HLT/charts/activity.png")
    assert cache.stats.renders == renders + 1
    assert changed.headers["ETag"] != first.headers["ETag"]
    doc = page(client, "/clients/HLT")
    assert f"{before + 1} revision rounds in total." in doc.find("main").text


# -- language ---------------------------------------------------------------------------


def test_lang_parameter_sets_a_cookie_that_later_pages_follow(client: FlaskClient) -> None:
    response = client.get("/?lang=ru")
    assert response.status_code == 200
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("scopeguard_lang=ru") and "SameSite=Lax" in cookie
    doc = page(client, "/clients/TOX")  # no parameter now: the cookie decides
    assert doc.find("html").attrs["lang"] == "ru"
    assert "Объём работ в сравнении с договором" in doc.find("main").text
    assert page(client, "/?lang=en").find("html").attrs["lang"] == "en"


def test_browser_language_is_used_without_a_choice(client: FlaskClient) -> None:
    doc = page(client, "/", **{"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    assert doc.find("html").attrs["lang"] == "ru"
    assert doc.find("h1").text == "Портфель"
    doc = page(client, "/", **{"Accept-Language": "de-DE,fr;q=0.8"})
    assert doc.find("html").attrs["lang"] == "en"


def test_configured_language_is_the_fallback(panel_agency: Agency) -> None:
    web = panel_agency.settings.web.model_copy(update={"language": "ru"})
    settings = panel_agency.settings.model_copy(update={"web": web})
    services = pinned_services(settings, migrate=False)
    try:
        client = create_app(services=services).test_client()
        doc = page(client, "/", **{"Accept-Language": "de"})
        assert doc.find("html").attrs["lang"] == "ru"
    finally:
        services.close()


def test_russian_numbers_and_times_are_localized(client: FlaskClient) -> None:
    summary = api(client, "/clients/TOX/summary")
    doc = page(client, "/clients/TOX?lang=ru")
    creep = doc.find("tr", data_unit="issues").find("td", data_field="creep").text
    percent = f"{summary['scope']['creep_percent']:.1f}".replace(".", ",")
    assert f"({percent} %)" in creep  # Russian: decimal comma, a (no-break) space before %
    assert f"{percent}\xa0%" in client.get("/clients/TOX?lang=ru").get_data(as_text=True)
    trail = api(client, "/clients/TOX/issues/TOX-1")["revisions"][0]
    shown = doc.find("details", data_issue="TOX-1").find("tbody").find("td", **{}).text
    assert shown == "1"
    moment = datetime.fromisoformat(trail["at"]).astimezone(clock.AGENCY_ZONE)
    cell = doc.find("details", data_issue="TOX-1").find("time")
    months = [
        "янв.",
        "февр.",
        "мар.",
        "апр.",
        "мая",
        "июн.",
        "июл.",
        "авг.",
        "сент.",
        "окт.",
        "нояб.",
        "дек.",
    ]
    assert months[moment.month - 1] in cell.text and moment.strftime("%H:%M") in cell.text


# -- sign-in ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    for agency in build_agency(tmp_path_factory.mktemp("guarded"), api_token=TOKEN):
        add_people(agency.services)
        yield create_app(services=agency.services)


def _csrf(doc: Node) -> str:
    return doc.find("input", name="csrf_token").attrs["value"]


def test_pages_redirect_to_sign_in_and_images_refuse(guarded: Flask) -> None:
    client = guarded.test_client()
    response = client.get("/clients/TOX?lang=ru", headers={"Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/signin?next=")
    assert client.get("/clients/TOX/charts/creep.png").status_code == 401
    assert client.get("/portfolio/charts/TOX.png").status_code == 401


def test_the_sign_in_page_and_its_stylesheet_need_no_sign_in(guarded: Flask) -> None:
    client = guarded.test_client()
    doc = page(client, "/signin")
    sheet = doc.find("link", rel="stylesheet").attrs["href"]
    response = client.get(sheet)
    assert response.status_code == 200 and response.mimetype == "text/css"


def test_signing_in_opens_the_pages_and_the_charts(guarded: Flask) -> None:
    client = guarded.test_client()
    response = sign_in(client, "vera", next_path="/clients/TOX")
    assert response.status_code == 303
    assert response.headers["Location"] == "/clients/TOX"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if "scopeguard_session" in c)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert TOKEN not in cookie and "vera" not in cookie
    doc = page(client, "/clients/TOX")
    for image in doc.find_all("img"):
        assert client.get(image.attrs["src"]).status_code == 200
    # Signing out needs the form token too, and then the pages are closed again.
    assert client.post("/signout").status_code == 400
    assert client.post("/signout", data={"csrf_token": _csrf(doc)}).status_code == 303
    assert client.get("/", headers={"Accept": "text/html"}).status_code == 303


def test_a_wrong_password_or_a_missing_form_token_is_refused(guarded: Flask) -> None:
    client = guarded.test_client()
    wrong = sign_in(client, "vera", password="not-the-password")
    assert wrong.status_code == 401
    assert "That username or password is not correct." in wrong.get_data(as_text=True)
    unknown = sign_in(client, "nobody")
    assert unknown.status_code == 401
    forged = client.post("/signin", data={"username": "vera", "password": PASSWORD, "next": "/"})
    assert forged.status_code == 400
    assert client.get("/", headers={"Accept": "text/html"}).status_code == 303


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "/\r\nSet-Cookie: x=1",
        "/%0d%0aLocation: https://evil.example",
        "/" + "a" * 2500,
    ],
)
def test_sign_in_never_redirects_off_site_nor_splits_headers(guarded: Flask, target: str) -> None:
    client = guarded.test_client()
    response = sign_in(client, "vera", next_path=target)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert "\r" not in location and "\n" not in location
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    if target.startswith(("//", "https:", "/\\", "/\r")) or len(target) > 2000:
        assert location == "/"


def test_the_deprecated_service_token_opens_the_panel_read_only(guarded: Flask) -> None:
    client = guarded.test_client()
    response = client.get("/clients/TOX", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert 'data-section="internal"' not in response.get_data(as_text=True)  # a viewer
    wrong = client.get(
        "/clients/TOX", headers={"Authorization": "Bearer nope", "Accept": "text/html"}
    )
    assert wrong.status_code == 401
    assert client.get("/signin").status_code == 200  # and no way to sign in with it


def test_an_empty_token_is_a_config_error(tmp_path: Path) -> None:
    document = {
        "jira": {"url": "http://127.0.0.1:9", "email": "a@b.c", "api_token": "t"},
        "web": {"api_token": ""},
    }
    with pytest.raises(ConfigError) as raised:
        parse_settings(yaml.safe_dump(document), env={})
    assert "web.api_token" in str(raised.value) and "is empty" in str(raised.value)
    document["web"]["api_token"] = "a-long-enough-random-token"
    assert parse_settings(yaml.safe_dump(document), env={}).web.api_token
