"""The Forge app's remote endpoints and Custom UI against the synced sample agency.

ScopeGuard runs on a real loopback socket with a ``forge:`` section whose JWKS
URL points at a local key server; tokens are minted with the matching local
RSA key in the documented FIT layout, standing in for Atlassian. Every other
part is real: the synced database, the analysis, the HTTP server.

The browser test loads the built Custom UI in Debian's Chromium. The Forge host
page is the one thing the test plays: it injects ``window.__bridge`` (what
@forge/bridge talks to inside a Jira iframe) and forwards ``invokeRemote`` to
ScopeGuard with the invocation token, as Forge's proxy does.
"""

from __future__ import annotations

import json
import mimetypes
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
import yaml
from werkzeug.serving import BaseWSGIServer, make_server

from scopeguard.bootstrap import Services
from scopeguard.config import parse_settings
from scopeguard.entrypoints.web import create_app
from tests.support.agency import Agency
from tests.support.browser import chromium_browser
from tests.support.forge import (
    Fit,
    JwksServer,
    build_forge_ui,
    hs256_token,
    new_app_id,
    public_jwk,
    public_pem,
    rsa_key,
    serve_jwks,
    sign,
    unsigned_token,
)
from tests.support.services import pinned_services

if TYPE_CHECKING:  # Playwright is imported only when a browser test runs
    from playwright.sync_api import Browser, Page, Route

KID = "atlassian-forge-1"
# Client names come from the configuration and Jira data from clients: the UI
# must show markup in them as text. The sample's demanding client gets one.
HOSTILE_NAME = 'Toxic Retail Co <img src=x onerror="window.__pwned = 1">'


@dataclass
class ForgeRemote:
    """ScopeGuard with the Forge app configured, served on a real socket."""

    agency: Agency
    services: Services
    url: str
    app_id: str
    jwks: JwksServer
    fit: Fit

    def token(self, extension: dict[str, Any], **overrides: Any) -> str:
        return sign(self.fit.claims(extension=extension, **overrides), rsa_key("atlassian"), KID)

    def call(
        self,
        path: str,
        token: str | None,
        *,
        method: str = "GET",
        **kwargs: Any,
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return requests.request(
            method, f"{self.url}/forge/v1/{path}", headers=headers, timeout=30, **kwargs
        )

    def api(self, path: str) -> Any:
        response = requests.get(f"{self.url}/api/v1{path}", timeout=30)
        response.raise_for_status()
        return response.json()


def serve_app(services: Services) -> tuple[BaseWSGIServer, threading.Thread]:
    httpd: BaseWSGIServer = make_server(
        "127.0.0.1", 0, create_app(services=services), threaded=True
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    return httpd, thread


@pytest.fixture(scope="module")
def forge(agency: Agency) -> Iterator[ForgeRemote]:
    app_id = new_app_id()
    with serve_jwks(public_jwk(rsa_key("atlassian"), KID)) as jwks:
        document = yaml.safe_load(agency.config_file.read_text())
        document["forge"] = {"app_id": app_id, "jwks_url": jwks.url}
        for client in document["clients"]:
            if client["key"] == "TOX":
                client["name"] = HOSTILE_NAME
        settings = parse_settings(yaml.safe_dump(document), env={})
        services = pinned_services(settings)
        httpd, thread = serve_app(services)
        # The sites default to the Jira ScopeGuard reads: the simulator's address.
        fit = Fit(app_id=app_id, site_url=settings.jira.base_url)
        try:
            yield ForgeRemote(
                agency, services, f"http://127.0.0.1:{httpd.server_port}", app_id, jwks, fit
            )
        finally:
            httpd.shutdown()
            thread.join(timeout=10)
            services.close()


def over_limit_issue(forge: ForgeRemote) -> tuple[str, int]:
    summary = forge.api("/clients/TOX/summary")
    key = summary["revisions"]["over_limit"][0]
    return key, summary["revisions"]["by_issue"][key]


# -- answers with a valid token --------------------------------------------------------


def test_project_page_gets_its_clients_summary_and_nothing_else(forge: ForgeRemote) -> None:
    response = forge.call("project-summary", forge.token(Fit.project_page("TOX")))
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["project"] == "TOX"
    (client,) = body["clients"]
    assert client["key"] == "TOX"
    assert client["name"] == HOSTILE_NAME
    assert client["dashboard_url"].endswith("/clients/TOX")
    assert client["summary"] == forge.api("/clients/TOX/summary")
    assert client["summary"]["health"] == "breach"
    for other in ("HLT", "RET"):
        assert other not in response.text


def test_the_project_page_gets_the_creep_chart_as_svg_and_no_risk_by_default(
    forge: ForgeRemote,
) -> None:
    body = forge.call("project-summary", forge.token(Fit.project_page("TOX"))).json()
    (client,) = body["clients"]
    assert client["creep_chart_svg"].lstrip().startswith("<?xml")
    assert "<svg" in client["creep_chart_svg"] and "<script" not in client["creep_chart_svg"]
    assert body["show_risk"] is False and client["risk"] is None


def test_with_show_risk_the_project_page_gets_the_score_and_three_reasons(
    forge: ForgeRemote,
) -> None:
    document = yaml.safe_load(forge.agency.config_file.read_text())
    document["forge"] = {"app_id": forge.app_id, "jwks_url": forge.jwks.url, "show_risk": True}
    services = pinned_services(parse_settings(yaml.safe_dump(document), env={}))
    httpd, thread = serve_app(services)
    try:
        url = f"http://127.0.0.1:{httpd.server_port}/forge/v1/project-summary"

        def risk_of(project: str) -> Any:
            token = forge.token(Fit.project_page(project))
            body = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
            return body.json()["clients"][0]["risk"]

        tox, lag = risk_of("TOX"), risk_of("LAG")
        stored = services.risk.current()
        assert tox["score"] == stored["TOX"].score and tox["verdict"] == "client"
        assert len(tox["reasons"]) == 3 and tox["reasons"][0]["side"] == "client"
        assert lag["verdict"] == "check_pm" and lag["reasons"][0]["side"] == "agency"
        for reason in (*tox["reasons"], *lag["reasons"]):
            assert reason["events"] and all(e["issue"] for e in reason["events"])
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        services.close()


def test_post_answers_like_get_and_ignores_what_the_body_asks_for(forge: ForgeRemote) -> None:
    # The body and query come from the user's browser: only the signed context counts.
    token = forge.token(Fit.project_page("HLT"))
    response = forge.call(
        "project-summary?project=TOX", token, method="POST", json={"project": "TOX"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [client["key"] for client in body["clients"]] == ["HLT"]
    assert "TOX" not in response.text


def test_issue_panel_gets_the_rounds_against_the_allowance(forge: ForgeRemote) -> None:
    key, rounds = over_limit_issue(forge)
    response = forge.call("issue-trail", forge.token(Fit.issue_panel(key)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tracked"] is True
    assert body["issue"] == key
    assert body["client"]["key"] == "TOX"
    assert body["rounds"] == rounds == len(body["trail"]["revisions"])
    assert body["allowance"] == 2
    assert body["over_limit"] is True
    assert body["trail"] == forge.api(f"/clients/TOX/issues/{key}")


def test_an_issue_within_its_allowance_is_not_over(forge: ForgeRemote) -> None:
    summary = forge.api("/clients/HLT/summary")
    limit = summary["revisions"]["per_issue_limit"]
    key = next(k for k, n in summary["revisions"]["by_issue"].items() if n <= limit)
    body = forge.call("issue-trail", forge.token(Fit.issue_panel(key))).json()
    assert body["tracked"] is True
    assert body["over_limit"] is False
    assert body["rounds"] == summary["revisions"]["by_issue"][key]


def test_an_issue_outside_the_contract_is_reported_untracked(forge: ForgeRemote) -> None:
    response = forge.call("issue-trail", forge.token(Fit.issue_panel("TOX-9999")))
    assert response.status_code == 200
    body = response.json()
    assert body["tracked"] is False
    assert "trail" not in body


def test_an_unmapped_project_is_404_json(forge: ForgeRemote) -> None:
    for path, extension in (
        ("project-summary", Fit.project_page("NOPE")),
        ("issue-trail", Fit.issue_panel("NOPE-1")),
    ):
        response = forge.call(path, forge.token(extension))
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
        assert "NOPE" in response.json()["message"]


def test_an_invocation_without_project_context_is_400(forge: ForgeRemote) -> None:
    response = forge.call("project-summary", forge.token({}))
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


# -- refusals: no data without a valid token --------------------------------------------


def _forgeries(forge: ForgeRemote) -> dict[str, str | None]:
    now = forge.fit.claims()["iat"]
    page = Fit.project_page("TOX")
    genuine = forge.token(Fit.project_page("HLT"))
    head, _body, signature = genuine.split(".")
    swapped = unsigned_token({}, forge.fit.claims(extension=page)).split(".")[1]
    return {
        "missing": None,
        "empty": "",
        "expired": forge.token(page, iat=now - 600, nbf=now - 600, exp=now - 300),
        "wrong audience": forge.token(page, aud=new_app_id()),
        "wrong issuer": forge.token(page, iss="someone/else"),
        "tampered": f"{head}.{swapped}.{signature}",
        "forged with another key": sign(forge.fit.claims(extension=page), rsa_key("thief"), KID),
        "unsigned (alg none)": unsigned_token({"alg": "none", "kid": KID}, forge.fit.claims()),
        "HS256 with the public key": hs256_token(
            {"alg": "HS256", "kid": KID},
            forge.fit.claims(extension=page),
            public_pem(rsa_key("atlassian")),
        ),
        "unknown key id": sign(forge.fit.claims(extension=page), rsa_key("thief"), "other-kid"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "empty",
        "expired",
        "wrong audience",
        "wrong issuer",
        "tampered",
        "forged with another key",
        "unsigned (alg none)",
        "HS256 with the public key",
        "unknown key id",
    ],
)
@pytest.mark.parametrize("path", ["project-summary", "issue-trail"])
def test_bad_tokens_get_401_and_no_data(forge: ForgeRemote, case: str, path: str) -> None:
    token = _forgeries(forge)[case]
    response = forge.call(path, token)
    assert response.status_code == 401, response.text
    assert response.json() == {
        "error": "unauthorized",
        "message": "missing or invalid Forge invocation token",
    }
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    for secret in ("Toxic", "TOX-", "Healthy", "HLT"):
        assert secret not in response.text


def test_a_basic_auth_header_is_not_a_token(forge: ForgeRemote) -> None:
    response = requests.get(
        f"{forge.url}/forge/v1/project-summary", auth=("pm@agency.example", "x"), timeout=30
    )
    assert response.status_code == 401


def test_a_genuine_token_from_another_site_is_403(forge: ForgeRemote) -> None:
    token = forge.token(
        Fit.project_page("TOX"),
        context={
            "cloudId": "11111111-2222-3333-4444-555555555555",
            "siteUrl": "https://rival-agency.atlassian.net",
            "extension": Fit.project_page("TOX"),
        },
    )
    response = forge.call("project-summary", token)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert "Toxic" not in response.text


def test_sites_can_be_limited_to_some_clients(forge: ForgeRemote, tmp_path: Path) -> None:
    document = yaml.safe_load(forge.agency.config_file.read_text())
    document["forge"] = {
        "app_id": forge.app_id,
        "jwks_url": forge.jwks.url,
        "sites": [{"cloud_id": forge.fit.cloud_id, "clients": ["HLT"]}],
    }
    services = pinned_services(parse_settings(yaml.safe_dump(document), env={}))
    httpd, thread = serve_app(services)
    try:
        url = f"http://127.0.0.1:{httpd.server_port}/forge/v1/project-summary"

        def get(project: str) -> requests.Response:
            token = forge.token(Fit.project_page(project))
            return requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

        assert get("HLT").status_code == 200
        assert get("TOX").status_code == 404, "TOX is not among this site's clients"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        services.close()


def test_without_a_forge_section_the_endpoints_do_not_exist(forge: ForgeRemote) -> None:
    httpd, thread = serve_app(forge.agency.services)  # the sample config has no forge:
    try:
        token = forge.token(Fit.project_page("TOX"))
        response = requests.get(
            f"http://127.0.0.1:{httpd.server_port}/forge/v1/project-summary",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code == 404
        assert "forge" in response.json()["message"]
    finally:
        httpd.shutdown()
        thread.join(timeout=10)


def test_the_signing_keys_are_fetched_once_for_many_calls(forge: ForgeRemote) -> None:
    first = forge.call("project-summary", forge.token(Fit.project_page("RET")))
    assert first.status_code == 200
    before = forge.jwks.hits
    assert before >= 1
    for _ in range(5):
        response = forge.call("project-summary", forge.token(Fit.project_page("RET")))
        assert response.status_code == 200
    assert forge.jwks.hits == before, "later calls verify with the cached keys"


# -- the Custom UI in a browser -------------------------------------------------------------

HOST = "https://forge-host.test"

# What the Jira page around a Custom UI iframe provides: @forge/bridge calls
# window.__bridge.callBridge(name, payload). invokeRemote goes to the "Forge
# proxy" (/remote/..., routed by the test to ScopeGuard with the FIT).
FAKE_HOST = """
(() => {
  const context = %s;
  window.__navigations = [];
  window.__bridge = {
    callBridge: async (name, payload) => {
      if (name === 'getContext') return JSON.parse(JSON.stringify(context));
      if (name === 'navigate') { window.__navigations.push(payload); return undefined; }
      if (name === 'invoke') {
        const answer = await fetch('/remote' + payload.path, { method: payload.method });
        const body = await answer.json();
        if (!answer.ok) {
          // Forge rejects invokeRemote for a non-2xx answer.
          const error = new Error('remote answered ' + answer.status);
          error.status = answer.status;
          throw error;
        }
        return { success: true, payload: { status: answer.status, headers: {}, body } };
      }
      throw new Error('unexpected bridge call ' + name);
    },
  };
})();
"""


@pytest.fixture(scope="module")
def built_ui(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_forge_ui(tmp_path_factory.mktemp("forge-ui") / "build")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chromium_browser() as browser:
        yield browser


@dataclass
class Panel:
    page: Page
    problems: list[str]


def open_panel(
    chromium: Browser,
    forge: ForgeRemote,
    built_ui: Path,
    extension: dict[str, Any],
    *,
    locale: str = "en-US",
    width: int = 800,
) -> Panel:
    """The built Custom UI in a fresh page, as Jira would frame it, rendered to the end."""
    token = forge.token(extension, lifetime=300)
    browser_context = chromium.new_context(viewport={"width": width, "height": 900})
    page = browser_context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def route(route: Route) -> None:
        path = route.request.url.removeprefix(HOST)
        if path.startswith("/remote/"):
            # Forge's proxy: forward to the remote's baseUrl with the FIT.
            answer = route.fetch(
                url=f"{forge.url}{path.removeprefix('/remote')}",
                headers={"Authorization": f"Bearer {token}"},
            )
            route.fulfill(response=answer)
            return
        file = built_ui / (path.lstrip("/").split("?")[0] or "index.html")
        if file.is_file():
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            route.fulfill(path=str(file), content_type=kind)
        else:
            route.fulfill(status=404, body="not found")

    page.route(f"{HOST}/**", route)
    context = {"extension": extension, "locale": locale, "moduleKey": "scopeguard"}
    page.add_init_script(FAKE_HOST % json.dumps(context))
    page.goto(f"{HOST}/index.html")
    page.wait_for_selector("#root[aria-busy=false]", timeout=20_000)
    return Panel(page, problems)


def test_the_project_page_renders_the_summary(
    chromium: Browser, forge: ForgeRemote, built_ui: Path, artifacts_dir: Path
) -> None:
    summary = forge.api("/clients/TOX/summary")
    panel = open_panel(chromium, forge, built_ui, Fit.project_page("TOX"))
    page = panel.page
    section = page.locator("section.client[data-client=TOX]")
    # The hostile name is text: the img never became an element, its handler never ran.
    assert section.locator("h2").inner_text() == HOSTILE_NAME
    assert page.locator("section.client img").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert section.locator(".health").inner_text().lower() == "contract breached"
    units = section.locator("table.scope tbody tr")
    assert units.count() == len(summary["scope"]["by_unit"])
    issues_row = section.locator("tr[data-unit=issues] td")
    assert issues_row.nth(2).inner_text() == str(summary["scope"]["by_unit"]["issues"]["creep"])
    listed = section.locator("ul.over-limit li")
    assert listed.count() == len(summary["revisions"]["over_limit"])
    first = summary["revisions"]["over_limit"][0]
    item = section.locator(f"li[data-issue='{first}']")
    rounds = summary["revisions"]["by_issue"][first]
    assert item.locator(".rounds").inner_text() == f"{rounds} of 2 revision rounds"
    assert section.locator("dd.reopens").inner_text() == str(summary["reopens"]["total"])
    # The creep chart came as SVG text through the remote and is inlined (no image URL);
    # the risk stays out of Jira unless forge.show_risk says otherwise.
    assert section.locator("figure.creep-chart svg path").count() > 5
    assert section.locator("[data-part=client-risk]").count() == 0
    page.screenshot(path=str(artifacts_dir / "forge-project-page.png"), full_page=True)
    # Issue keys navigate inside Jira; the dashboard opens in a new tab.
    item.locator("button").click()
    section.locator("button.dashboard").click()
    navigations = page.evaluate("window.__navigations")
    assert navigations[0] == {"url": f"/browse/{first}", "type": "same-tab"}
    assert navigations[1]["type"] == "new-tab"
    assert navigations[1]["url"].endswith("/clients/TOX")
    assert panel.problems == []


def test_the_issue_panel_renders_the_rounds(
    chromium: Browser, forge: ForgeRemote, built_ui: Path, artifacts_dir: Path
) -> None:
    key, rounds = over_limit_issue(forge)
    trail = forge.api(f"/clients/TOX/issues/{key}")
    panel = open_panel(chromium, forge, built_ui, Fit.issue_panel(key), width=400)
    page = panel.page
    assert page.locator("h2.issue-key").inner_text() == key
    assert page.locator(".rounds-used").inner_text() == f"{rounds} of 2 revision rounds"
    assert "over" in (page.locator(".rounds-used").get_attribute("class") or "")
    assert page.locator(".verdict").inner_text() == "Past the included revision rounds"
    items = page.locator("ol.trail li")
    assert items.count() == len(trail["revisions"]) == rounds
    beyond = [r for r in trail["revisions"] if r["beyond_allowance"]]
    assert page.locator("ol.trail li.beyond-allowance").count() == len(beyond) > 0
    first = trail["revisions"][0]
    assert items.nth(0).locator(".transition").inner_text() == (
        f"{first['from_status']} → {first['to_status']}"
    )
    meter = page.locator("[role=meter]")
    assert meter.get_attribute("aria-valuenow") == str(rounds)
    page.screenshot(path=str(artifacts_dir / "forge-issue-panel.png"), full_page=True)
    assert panel.problems == []


def test_the_ui_speaks_russian_to_russian_users(
    chromium: Browser, forge: ForgeRemote, built_ui: Path, artifacts_dir: Path
) -> None:
    panel = open_panel(chromium, forge, built_ui, Fit.project_page("TOX"), locale="ru-RU")
    page = panel.page
    assert page.locator("html").get_attribute("lang") == "ru-RU"
    assert page.locator(".health").inner_text().lower() == "договор нарушен"
    assert page.locator("table.scope caption").inner_text() == "Объём работ относительно договора"
    page.screenshot(path=str(artifacts_dir / "forge-project-page-ru.png"), full_page=True)
    assert panel.problems == []


def test_an_unmapped_project_shows_a_notice(
    chromium: Browser, forge: ForgeRemote, built_ui: Path
) -> None:
    panel = open_panel(chromium, forge, built_ui, Fit.project_page("NOPE"))
    notice = panel.page.locator("[role=alert]")
    assert notice.inner_text() == "No ScopeGuard client is mapped to this project."
    # Chromium logs the 404 answer and the UI reports it once, as a warning.
    assert panel.problems == [
        "console error: Failed to load resource: the server responded with a status of 404 "
        "(Not Found)",
        "console warning: ScopeGuard: 404 remote answered 404",
    ]
