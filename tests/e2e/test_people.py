"""Accounts, roles, server-side sessions, personal tokens and the audit log, over the agency."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from scopeguard.config import parse_settings
from scopeguard.entrypoints.cli import cli
from scopeguard.entrypoints.web import create_app
from tests.support import clock
from tests.support.agency import Agency, build_agency
from tests.support.people import PASSWORD, add_people, form_token, sign_in
from tests.support.services import pinned_services

HTML = {"Accept": "text/html"}


class Clock:
    """A clock the test moves: sessions time out on it."""

    def __init__(self) -> None:
        self.at = clock.now()

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(scope="module")
def people_agency(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agency]:
    for agency in build_agency(tmp_path_factory.mktemp("people")):
        add_people(agency.services)
        yield agency


@pytest.fixture(scope="module")
def moving() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def app(people_agency: Agency, moving: Clock) -> Iterator[Flask]:
    settings = people_agency.settings
    # Many sign-ins from one test address: the limit has its own test below.
    web = settings.web.model_copy(update={"signin_rate_limit": "1000 per minute"})
    services = pinned_services(
        settings.model_copy(update={"web": web}), clock=moving, migrate=False
    )
    yield create_app(services=services)
    services.close()


def signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, username).status_code == 303
    return client


def cookie_of(client: FlaskClient) -> str:
    found = client.get_cookie("scopeguard_session")
    assert found is not None
    return found.value


def test_without_accounts_the_demo_is_open_and_the_first_account_closes_it(
    tmp_path: Path,
) -> None:
    for agency in build_agency(tmp_path):
        open_app = create_app(services=agency.services)
        assert open_app.test_client().get("/clients/TOX").status_code == 200
        agency.services.people.add("first", "admin", password=PASSWORD)
        closed = create_app(services=pinned_services(agency.settings, migrate=False))
        assert closed.test_client().get("/clients/TOX", headers=HTML).status_code == 303
        assert closed.test_client().get("/api/v1/clients").status_code == 401


def test_sign_out_revokes_the_session_at_once_everywhere(app: Flask) -> None:
    browser = signed_in(app, "vera")
    stolen = app.test_client()
    stolen.set_cookie("scopeguard_session", cookie_of(browser))
    assert stolen.get("/clients/TOX").status_code == 200
    page = browser.get("/clients/TOX").get_data(as_text=True)
    assert browser.post("/signout", data={"csrf_token": form_token(page)}).status_code == 303
    # The copied cookie is dead now, not hours later.
    assert stolen.get("/clients/TOX", headers=HTML).status_code == 303
    assert stolen.get("/clients/TOX/charts/creep.png").status_code == 401
    assert stolen.get("/api/v1/clients").status_code == 401


def test_disabling_a_user_ends_their_sessions_and_tokens(people_agency: Agency, app: Flask) -> None:
    people_agency.services.people.add("dora", "viewer", password=PASSWORD)
    browser = signed_in(app, "dora")
    page = browser.get("/account").get_data(as_text=True)
    created = browser.post("/account/tokens", data={"name": "ci", "csrf_token": form_token(page)})
    token = re.search(r'data-field="token">([^<]+)<', created.get_data(as_text=True))
    assert token is not None
    bearer = {"Authorization": f"Bearer {token.group(1)}"}
    assert app.test_client().get("/api/v1/clients", headers=bearer).status_code == 200
    result = CliRunner().invoke(
        cli, ["--config", str(people_agency.config_file), "users", "disable", "dora"]
    )
    assert result.exit_code == 0, result.output
    assert browser.get("/clients/TOX", headers=HTML).status_code == 303
    assert app.test_client().get("/api/v1/clients", headers=bearer).status_code == 401
    assert sign_in(app.test_client(), "dora").status_code == 401


def test_sessions_end_when_idle_and_after_the_absolute_timeout(app: Flask, moving: Clock) -> None:
    start = moving.at
    try:
        idle = signed_in(app, "vera")
        moving.at = start + timedelta(minutes=61)  # web.session_idle_minutes: 60
        assert idle.get("/", headers=HTML).status_code == 303
        busy = signed_in(app, "vera")
        for step in range(1, 30):  # used every 30 minutes: never idle
            moving.at = start + timedelta(minutes=61 + 30 * step)
            expected = 200 if 30 * step < 12 * 60 else 303  # web.session_hours: 12
            assert busy.get("/", headers=HTML).status_code == expected, step
    finally:
        moving.at = start


def test_a_viewer_sees_no_internal_section_audit_log_or_exports(app: Flask) -> None:
    viewer = signed_in(app, "vera")
    page = viewer.get("/clients/TOX").get_data(as_text=True)
    assert 'data-section="internal"' not in page
    assert viewer.get("/admin/audit").status_code == 403
    assert viewer.get("/clients/TOX/reports/2026-10.pdf").status_code == 403


def test_an_admin_sees_the_internal_section_and_the_audit_log(app: Flask) -> None:
    admin = signed_in(app, "ada")
    page = admin.get("/clients/TOX").get_data(as_text=True)
    assert 'data-section="internal"' in page
    log = admin.get("/admin/audit")
    assert log.status_code == 200
    text = log.get_data(as_text=True)
    assert 'data-action="session.start"' in text and 'data-action="signin.password"' in text


def test_a_pm_sees_only_their_clients(app: Flask) -> None:
    pm = signed_in(app, "pat")
    portfolio = pm.get("/").get_data(as_text=True)
    assert 'data-client="HLT"' in portfolio and 'data-client="TOX"' not in portfolio
    assert pm.get("/clients/HLT").status_code == 200
    assert pm.get("/clients/TOX").status_code == 404
    assert pm.get("/api/v1/clients/TOX/summary").status_code == 404
    assert [c["key"] for c in pm.get("/api/v1/clients").get_json()] == ["HLT"]
    assert 'data-section="internal"' not in pm.get("/clients/HLT").get_data(as_text=True)


def test_personal_tokens_are_shown_once_read_only_recorded_and_revocable(
    people_agency: Agency, app: Flask
) -> None:
    browser = signed_in(app, "ada")
    page = browser.get("/account").get_data(as_text=True)
    assert browser.post("/account/tokens", data={"name": "x"}).status_code == 400  # no CSRF
    created = browser.post(
        "/account/tokens", data={"name": "nightly", "csrf_token": form_token(page)}
    )
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    raw = re.search(r'data-field="token">([^<]+)<', created.get_data(as_text=True))
    assert raw is not None and raw.group(1).startswith("sgp_")
    token = raw.group(1)
    account = browser.get("/account").get_data(as_text=True)
    assert token not in account  # shown once
    script = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert script.get("/api/v1/clients/TOX/summary", headers=bearer).status_code == 200
    assert script.post("/account/tokens", headers=bearer).status_code == 403  # read only
    listed = people_agency.services.people.tokens(
        next(u for u in people_agency.services.people.users() if u.username == "ada")
    )
    mine = next(t for t in listed if t.prefix == token[:12])
    assert mine.last_used_at is not None
    uses = [e for e in people_agency.services.people.audit_log() if e.action == "token.use"]
    assert any(e.target == mine.prefix for e in uses)
    revoked = browser.post(
        f"/account/tokens/{mine.id}/revoke", data={"csrf_token": form_token(account)}
    )
    assert revoked.status_code == 200
    assert script.get("/api/v1/clients/TOX/summary", headers=bearer).status_code == 401


def test_the_cli_adds_resets_and_lists_accounts(people_agency: Agency, app: Flask) -> None:
    config = ["--config", str(people_agency.config_file)]
    runner = CliRunner()
    added = runner.invoke(
        cli,
        [*config, "users", "add", "mo", "--role", "pm", "--clients", "TOX", "--password-stdin"],
        input="a-long-password-1\n",
    )
    assert added.exit_code == 0, added.output
    browser = signed_in_with(app, "mo", "a-long-password-1")
    reset = runner.invoke(
        cli, [*config, "users", "reset", "mo", "--password-stdin"], input="another-long-pass\n"
    )
    assert reset.exit_code == 0, reset.output
    assert browser.get("/", headers=HTML).status_code == 303  # a reset signs out
    assert signed_in_with(app, "mo", "another-long-pass").get("/clients/TOX").status_code == 200
    listed = runner.invoke(cli, [*config, "users", "list"])
    assert re.search(r"^mo\s+pm\s+TOX\s+password\s+active$", listed.output, re.M), listed.output
    for bad in (
        ["users", "add", "x1", "--role", "owner", "--generate"],
        ["users", "add", "x2", "--role", "pm", "--generate"],  # a pm needs clients
        ["users", "add", "x3", "--role", "viewer", "--password-stdin"],  # too short
        ["users", "disable", "nobody"],
    ):
        result = runner.invoke(cli, [*config, *bad], input="short\n")
        assert result.exit_code == 2, (bad, result.output)


def signed_in_with(app: Flask, username: str, password: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, username, password).status_code == 303
    return client


def test_sign_in_is_rate_limited(tmp_path: Path) -> None:
    for agency in build_agency(tmp_path):
        add_people(agency.services)
        document = agency.config_file.read_text() + "\nweb:\n  signin_rate_limit: 3 per minute\n"
        services = pinned_services(parse_settings(document, env={}), migrate=False)
        limited = create_app(services=services).test_client()
        answers = [
            sign_in(limited, "vera", password="wrong-password!").status_code for _ in range(4)
        ]
        assert answers == [401, 401, 401, 429]
        services.close()
