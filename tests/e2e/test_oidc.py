"""OpenID Connect sign-in end to end, against a real provider on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from scopeguard.bootstrap import Services
from scopeguard.entrypoints.web import create_app
from tests.support import clock
from tests.support.agency import agency_site
from tests.support.oidc import CLIENT_ID, CLIENT_SECRET, Provider, oidc_provider
from tests.support.people import form_token
from tests.support.services import pinned_services

HTML = {"Accept": "text/html"}


@dataclass
class Setup:
    provider: Provider
    services: Services

    def browser(self) -> FlaskClient:
        return create_app(services=self.services).test_client()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    folder = tmp_path_factory.mktemp("oidc")
    with oidc_provider(lambda: clock.now().timestamp()) as provider, agency_site(folder) as site:
        site.document["web"] = {
            "signin_rate_limit": "1000 per minute",
            "oidc": {
                "issuer": provider.url,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "role_claim": "groups",
                "roles": {"admin": ["sg-admins"], "viewer": ["staff"]},
                "display_name": "Test IdP",
            },
        }
        _, settings = site.write_config(folder)
        services = pinned_services(settings, sleep=lambda _s: None)
        for result in services.sync.sync_all(full=True):
            assert not isinstance(result, Exception)
        yield Setup(provider, services)
        services.close()


def start(browser: FlaskClient, next_path: str = "/clients/TOX") -> str:
    """The browser goes to the provider; returns the callback path it is sent back to."""
    begin = browser.get("/signin/oidc", query_string={"next": next_path})
    assert begin.status_code == 303, begin.get_data(as_text=True)
    at_provider = requests.get(begin.headers["Location"], allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302
    back = urlsplit(at_provider.headers["Location"])
    return f"{back.path}?{back.query}"


def login(setup: Setup, user: dict[str, object], **bend: object) -> tuple[FlaskClient, int, str]:
    setup.provider.user, setup.provider.bend = user, bend
    browser = setup.browser()
    callback = start(browser)
    answer = browser.get(callback)
    setup.provider.bend = {}
    return browser, answer.status_code, answer.headers.get("Location", "")


ADMIN = {"sub": "u-1", "email": "ada@agency.example", "name": "Ada", "groups": ["sg-admins"]}
VIEWER = {"sub": "u-2", "email": "vic@agency.example", "groups": ["staff", "other"]}


def test_the_sign_in_page_offers_the_provider(setup: Setup) -> None:
    page = setup.browser().get("/signin").get_data(as_text=True)
    assert 'data-signin="oidc"' in page and "Sign in with Test IdP" in page


def test_login_maps_roles_from_the_groups_claim_and_logout_revokes(setup: Setup) -> None:
    admin, status, location = login(setup, ADMIN)
    assert (status, location) == (303, "/clients/TOX")
    assert 'data-section="internal"' in admin.get("/clients/TOX").get_data(as_text=True)
    viewer, status, _ = login(setup, VIEWER)
    assert status == 303
    page = viewer.get("/clients/TOX").get_data(as_text=True)
    assert 'data-section="internal"' not in page
    assert viewer.get("/admin/audit").status_code == 403
    users = {u.username: u.role for u in setup.services.people.users()}
    assert users["ada@agency.example"] == "admin" and users["vic@agency.example"] == "viewer"
    assert viewer.post("/signout", data={"csrf_token": form_token(page)}).status_code == 303
    assert viewer.get("/clients/TOX", headers=HTML).status_code == 303


def test_a_person_without_a_mapped_group_is_refused(setup: Setup) -> None:
    browser, status, _ = login(setup, {"sub": "u-3", "email": "x@agency.example", "groups": ["x"]})
    assert status == 403
    assert browser.get("/clients/TOX", headers=HTML).status_code == 303


@pytest.mark.parametrize(
    "bend",
    [
        {"exp": int(clock.now().timestamp()) - 3600},  # expired
        {"aud": "another-client"},  # for someone else
        {"iss": "https://evil.example"},
        {"nonce": "not-the-nonce"},
    ],
    ids=["expired", "wrong-audience", "wrong-issuer", "wrong-nonce"],
)
def test_bad_id_tokens_are_refused(setup: Setup, bend: dict[str, object]) -> None:
    browser, status, _ = login(setup, ADMIN, **bend)
    assert status == 401
    assert browser.get("/clients/TOX", headers=HTML).status_code == 303
    refused = [e for e in setup.services.people.audit_log() if e.action == "signin.refused"]
    assert refused and (refused[0].detail or "").startswith("oidc:")


def test_a_replayed_state_is_refused(setup: Setup) -> None:
    setup.provider.user = ADMIN
    browser = setup.browser()
    callback = start(browser)
    state = parse_qs(urlsplit(callback).query)["state"][0]
    assert browser.get(callback).status_code == 303
    # The same answer again, with the state cookie put back: the round trip was used up.
    replay = setup.browser()
    replay.set_cookie("scopeguard_oidc", state)
    answer = replay.get(callback)
    assert answer.status_code == 401
    assert replay.get("/clients/TOX", headers=HTML).status_code == 303


def test_a_state_from_another_browser_is_refused(setup: Setup) -> None:
    setup.provider.user = ADMIN
    victim_callback = start(setup.browser())  # an attacker's round trip, sent to a victim
    victim = setup.browser()
    assert victim.get(victim_callback).status_code == 401


def test_a_replayed_nonce_is_refused(setup: Setup) -> None:
    setup.provider.user = ADMIN
    first = setup.browser()
    callback = start(first)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    nonce = setup.provider.codes[code]["nonce"]
    assert first.get(callback).status_code == 303
    # A later sign-in whose ID token carries the earlier nonce (a token replayed into it).
    _, status, _ = login(setup, ADMIN, nonce=nonce)
    assert status == 401
