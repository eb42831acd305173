"""The panel in a real browser: Debian's Chromium driven by Playwright over a real socket.

The app serves the synced sample agency (with ``web.api_token`` set, so the
browser signs in through the form like a person would) from werkzeug's server
on a free loopback port. The test reads the numbers off the rendered pages and
compares them with the JSON API, checks that every chart image decoded, and
fails on any console error, page error or failed request. Full-page
screenshots (English and Russian, desktop and the 800 px Jira iframe width) go
to the artefacts folder for a person to look at.

The browser is Debian's Chromium (``tests.support.browser``): without it the test
is skipped locally, and fails in CI (``CI=true``), where it must run.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, ViewportSize
from werkzeug.serving import BaseWSGIServer, make_server

from scopeguard.entrypoints.web import create_app
from scopeguard.entrypoints.web.panel import PANEL_LIST_LIMIT, PANEL_TRAILS
from tests.support.agency import build_agency
from tests.support.browser import chromium_browser, require_chromium
from tests.support.people import PASSWORD, add_people

TOKEN = "browser-test-token-4242"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
IFRAME: ViewportSize = {"width": 800, "height": 900}

require_chromium()


@dataclass
class Server:
    url: str
    api: requests.Session


@dataclass
class Problems:
    """Everything that went wrong in the browser while a page was open."""

    items: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        def console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.items.append(f"console error: {message.text} ({message.location})")

        def failed(request: Request) -> None:
            self.items.append(f"request failed: {request.url} ({request.failure})")

        def response(answer: Response) -> None:
            if answer.status >= 400:
                self.items.append(f"HTTP {answer.status}: {answer.url}")

        page.on("console", console)
        page.on("pageerror", lambda error: self.items.append(f"page error: {error}"))
        page.on("requestfailed", failed)
        page.on("response", response)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    for agency in build_agency(tmp_path_factory.mktemp("browser"), api_token=TOKEN):
        add_people(agency.services)
        app = create_app(services=agency.services)
        httpd: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {TOKEN}"
        try:
            yield Server(f"http://127.0.0.1:{httpd.server_port}", api)
        finally:
            httpd.shutdown()
            thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium_browser() as launched:
        yield launched


def api(server: Server, path: str) -> Any:
    response = server.api.get(f"{server.url}/api/v1{path}", timeout=30)
    response.raise_for_status()
    return response.json()


def open_signed_in(
    browser: Browser, server: Server, viewport: ViewportSize, lang: str, username: str = "ada"
) -> Page:
    """A new browser context, signed in through the form as ``username``, on the portfolio."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(f"{server.url}/?lang={lang}")
    assert "/signin" in page.url, "the panel must ask for a sign-in first"
    page.get_by_label(re.compile("Username|Имя пользователя")).fill(username)
    page.get_by_label(re.compile("Password|Пароль")).fill(PASSWORD)
    page.locator("form.signin button[type=submit]").click()
    page.wait_for_url(re.compile(r"/(\?.*)?$"))
    return page


def assert_images_loaded(page: Page) -> int:
    """Scroll each image into view (they load lazily) and check it decoded."""
    images = page.locator("img")
    count = images.count()
    for index in range(count):
        image = images.nth(index)
        image.scroll_into_view_if_needed()
        image.evaluate(
            "img => img.complete && img.naturalWidth > 0 ? true : new Promise((ok, fail) => {"
            " img.addEventListener('load', () => ok(true));"
            " img.addEventListener('error', () => fail(new Error('image failed: ' + img.src)));"
            "})"
        )
        width = image.evaluate("img => img.naturalWidth")
        assert width > 0, image.get_attribute("src")
        assert (image.get_attribute("alt") or "").strip(), image.get_attribute("src")
    return count


def screenshot(page: Page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def cell_number(text: str) -> float:
    match = re.search(r"-?[\d,]+(?:\.\d+)?", text)
    assert match, text
    return float(match.group().replace(",", ""))


def test_portfolio_and_panel_in_chromium(
    browser: Browser, server: Server, artifacts_dir: Path
) -> None:
    shots = artifacts_dir / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    problems = Problems()
    page = open_signed_in(browser, server, DESKTOP, "en")
    problems.watch(page)
    page.reload()

    # Portfolio: the numbers of every client, as the API gives them.
    clients = api(server, "/clients")
    rows = page.locator("tr[data-client]")
    assert rows.count() == len(clients)
    for client in clients:
        summary = api(server, f"/clients/{client['key']}/summary")
        row = page.locator(f"tr[data-client='{client['key']}']")
        assert summary["name"] in row.locator("th").inner_text()
        creep = row.locator("td[data-field=creep]").inner_text()
        assert f"{summary['scope']['creep_percent']:.1f}%" in creep
        over = row.locator("td[data-field=over_limit]").inner_text()
        assert int(over) == len(summary["revisions"]["over_limit"])
        reopens = row.locator("td[data-field=reopens]").inner_text()
        assert int(reopens) == summary["reopens"]["total"]
    assert assert_images_loaded(page) == len(clients)
    screenshot(page, shots, "portfolio-en-desktop")

    # Sorting is a plain link: the keyboard reaches it, and aria-sort follows.
    page.locator("th a", has_text="Reopens").click()
    page.wait_for_url(re.compile(r"sort=reopens"))
    assert page.locator("th[aria-sort]").inner_text().startswith("Reopens")

    # The first Tab lands on the skip link, which moves focus to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    # The demanding client's panel.
    page.locator("tr[data-client='TOX'] th a").click()
    page.wait_for_url(re.compile(r"/clients/TOX$"))
    summary = api(server, "/clients/TOX/summary")
    headline = summary["scope"]["unit"]
    figures = summary["scope"]["by_unit"][headline]
    row = page.locator(f"tr[data-unit='{headline}']")
    assert (
        cell_number(row.locator("td[data-field=contracted]").inner_text()) == figures["contracted"]
    )
    assert cell_number(row.locator("td[data-field=creep]").inner_text()) == figures["creep"]
    by_issue = summary["revisions"]["by_issue"]
    over_rows = page.locator("table.over-limit tr[data-issue]")
    shown = [over_rows.nth(i).get_attribute("data-issue") or "" for i in range(over_rows.count())]
    assert sorted(shown) == sorted(summary["revisions"]["over_limit"][:PANEL_LIST_LIMIT])
    assert [by_issue[key] for key in shown] == sorted((by_issue[k] for k in shown), reverse=True)
    first = shown[0]
    link = page.locator(f"table.over-limit tr[data-issue='{first}'] th a")
    assert (link.get_attribute("href", timeout=5000) or "").endswith(f"/browse/{first}")
    assert page.locator("details[data-issue]").count() == min(PANEL_TRAILS, len(by_issue))
    charts = assert_images_loaded(page)
    assert charts == len(api(server, "/clients/TOX/timeseries")["units"]) + 2

    # An evidence trail opens with the keyboard alone.
    trail = page.locator(f"details[data-issue='{first}']")
    trail.locator("summary").focus()
    page.keyboard.press("Enter")
    assert trail.evaluate("d => d.open")
    rounds = trail.locator("tbody tr")
    assert rounds.count() == by_issue[first]
    screenshot(page, shots, "panel-en-desktop")

    # The same pages in Russian and in the 800 px Jira iframe width.
    page.goto(f"{server.url}/clients/TOX?lang=ru")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.locator("h2#scope-heading").inner_text() == "Объём работ в сравнении с договором"
    assert_images_loaded(page)
    screenshot(page, shots, "panel-ru-desktop")
    page.set_viewport_size(IFRAME)
    page.goto(f"{server.url}/clients/TOX")  # the cookie keeps Russian
    assert page.locator("html").get_attribute("lang") == "ru"
    assert_images_loaded(page)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the 800px frame"
    screenshot(page, shots, "panel-ru-800")
    page.goto(f"{server.url}/?lang=ru")
    assert_images_loaded(page)
    screenshot(page, shots, "portfolio-ru-800")
    page.goto(f"{server.url}/clients/TOX/issues/{first}?lang=en")
    assert page.locator("tbody tr").count() == by_issue[first]
    screenshot(page, shots, "evidence-en-800")
    page.goto(f"{server.url}/?lang=en")
    assert_images_loaded(page)
    screenshot(page, shots, "portfolio-en-800")
    page.goto(f"{server.url}/clients/TOX")
    assert_images_loaded(page)
    screenshot(page, shots, "panel-en-800")
    page.goto(f"{server.url}/clients/TOX/issues?list=creep")
    assert page.locator("details[data-issue]").count() == len(summary["scope"]["added"])
    screenshot(page, shots, "issues-en-800")

    page.context.close()
    assert not problems.items, "\n".join(problems.items)


def test_a_viewer_and_an_admin_see_different_panels(
    browser: Browser, server: Server, artifacts_dir: Path
) -> None:
    shots = artifacts_dir / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    viewer = open_signed_in(browser, server, DESKTOP, "en", username="vera")
    viewer.goto(f"{server.url}/clients/TOX")
    assert viewer.locator("[data-section=internal]").count() == 0
    assert viewer.locator("[data-part=client-risk]").count() == 0
    assert "Client risk" not in viewer.locator("main").inner_text()
    assert_images_loaded(viewer)
    screenshot(viewer, shots, "panel-viewer-en-desktop")
    denied = viewer.goto(f"{server.url}/admin/audit")
    assert denied is not None and denied.status == 403
    viewer.context.close()
    admin = open_signed_in(browser, server, DESKTOP, "en", username="ada")
    admin.goto(f"{server.url}/clients/TOX")
    assert admin.locator("[data-section=internal]").count() == 1
    # The internal section holds the client risk: its heading and a score or its reason.
    risk = admin.locator("[data-section=internal] [data-part=client-risk]")
    assert risk.count() == 1
    assert risk.locator("h3").inner_text() == "Client risk"
    assert_images_loaded(admin)
    screenshot(admin, shots, "panel-admin-en-desktop")
    admin.goto(f"{server.url}/admin/audit")
    assert admin.locator("table.audit tbody tr").count() > 0
    screenshot(admin, shots, "audit-admin-en-desktop")
    admin.context.close()
