"""Client risk end to end: the scenario agency synced over HTTP, assessed, served, alerted.

The demanding client (TOX) ranks first and the healthy one (HLT) last; the client
whose PM is the problem (LAG) reads "check the PM first"; every explanation names
the events behind it. The API endpoint is admin-only, the client list shows scores
to admins only, ``scopeguard risk`` prints the same, and ``client_risk_high`` fires
once per crossing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from scopeguard.adapters.store.models import AlertOutboxRow, ClientRiskRow
from scopeguard.bootstrap import Services
from scopeguard.config import parse_settings
from scopeguard.entrypoints.web import create_app
from scopeguard.usecases.risk import ranking
from tests.support.agency import Agency, build_agency
from tests.support.cli import run_cli
from tests.support.people import add_people, form_token, sign_in


@pytest.fixture(scope="module")
def assessed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agency]:
    for agency in build_agency(tmp_path_factory.mktemp("risk")):
        agency.services.risk.refresh()
        yield agency


def test_the_demanding_client_ranks_first_and_the_healthy_one_last(assessed: Agency) -> None:
    risks = assessed.services.risk.current()
    order = ranking(risks)
    assert order[0] == "TOX" and order[-1] == "HLT", {k: r.score for k, r in risks.items()}
    assert all(risk.score is not None for risk in risks.values())
    assert risks["TOX"].verdict == "client"
    assert risks["HLT"].verdict == "none"


def test_the_pm_problem_is_told_apart(assessed: Agency) -> None:
    risks = assessed.services.risk.current()
    lag = risks["LAG"].document
    assert lag["verdict"] == "check_pm"
    assert lag["agency_score"] is not None and lag["agency_score"] >= 50
    agency_signals = {finding["signal"] for finding in lag["findings"]["agency"]}
    assert {"responsiveness", "neglect"} <= agency_signals
    # The client's request for another PM is quoted, phrase marked.
    request = lag["pm_change_requests"][0]
    assert "different project manager" in request["text"]
    start, end = request["marks"][0]
    assert request["text"][start:end] == "different project manager"
    # Nobody else is told to check their PM.
    assert [key for key, risk in risks.items() if risk.verdict == "check_pm"] == ["LAG"]


def test_each_explanation_names_its_events(assessed: Agency) -> None:
    risks = assessed.services.risk.current()
    issues = {issue.key for issue in assessed.dataset.issues}
    for key in ("TOX", "LAG"):
        document = risks[key].document
        findings = [*document["findings"]["client"], *document["findings"]["agency"]]
        assert findings, key
        for finding in findings:
            assert finding["evidence"], finding["signal"]
            for event in finding["evidence"]:
                assert event["issue"] in issues and event["issue"].startswith(f"{key}-")
                assert event["url"].startswith(assessed.settings.jira.base_url)
    tox = risks["TOX"].document
    quoted = [e["text"] for f in tox["findings"]["client"] for e in f["evidence"] if "text" in e]
    # The midnight messages and the PM-change requests, in both languages, are quoted.
    assert any(any("а" <= ch <= "я" for ch in text.lower()) for text in quoted)
    assert any(text.isascii() for text in quoted)
    assert any("сменим менеджера" in text for text in quoted)
    late = tox["signals"]["off_hours"]["details"]
    assert late["late_night"] is not None and late["late_night"] > 0.3


def test_the_weekly_scores_are_stored_once(assessed: Agency) -> None:
    services = assessed.services
    with services.database.session() as session:
        before = {row.client_key: row.computed_at for row in session.scalars(select(ClientRiskRow))}
    services.risk.current()
    with services.database.session() as session:
        after = {row.client_key: row.computed_at for row in session.scalars(select(ClientRiskRow))}
    assert before == after  # nothing changed: read, not recomputed
    weekly = services.risk.current()["TOX"].document["weekly"]
    assert len(weekly) >= 20 and weekly[-1]["score"] is not None
    assert [w["week"] for w in weekly] == sorted(w["week"] for w in weekly)


def test_the_api_shows_risk_to_admins_only(assessed: Agency) -> None:
    add_people(assessed.services)
    app = create_app(services=assessed.services)
    admin, viewer = app.test_client(), app.test_client()
    sign_in(admin, "ada")
    sign_in(viewer, "vera")
    document = admin.get("/api/v1/clients/TOX/risk").get_json()
    assert document == assessed.services.risk.current()["TOX"].document
    assert viewer.get("/api/v1/clients/TOX/risk").status_code == 403
    assert admin.get("/api/v1/clients/NOPE/risk").status_code == 404
    scores = {e["key"]: e["risk_score"] for e in admin.get("/api/v1/clients").get_json()}
    assert scores["TOX"] == document["score"] and scores["TOX"] is not None
    hidden = {e["key"]: e["risk_score"] for e in viewer.get("/api/v1/clients").get_json()}
    assert hidden == dict.fromkeys(scores)


def test_the_cli_prints_the_same(assessed: Agency) -> None:
    config = str(assessed.config_file)
    shown = run_cli("--config", config, "risk", "--client", "LAG", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == assessed.services.risk.current()["LAG"].document
    table = run_cli("--config", config, "risk")
    assert table.returncode == 0, table.stderr
    rows = [line.split()[0] for line in table.stdout.splitlines()[2:] if not line.startswith(" ")]
    assert rows[0] == "TOX" and rows[-1] == "HLT"
    assert "check_pm" in table.stdout and "neglect" in table.stdout


def test_client_risk_high_fires_once_per_crossing(tmp_path: Path) -> None:
    for agency in build_agency(tmp_path):
        score = agency.services.risk.current()["TOX"].score
        assert score is not None
        # The same store, a webhook channel for TOX and an alert score at its score.
        document: dict[str, Any] = yaml.safe_load(agency.config_file.read_text())
        document["risk"] = {"elevated_score": score - 10, "alert_score": score}
        document["clients"][0]["alerts"] = [{"type": "webhook", "url": "http://127.0.0.1:9/h"}]
        settings = parse_settings(yaml.safe_dump(document, allow_unicode=True), env={})
        services = Services(settings, sleep=lambda _seconds: None, clock=agency.now)
        try:
            services.risk.refresh()
            services.risk.refresh(force=True)  # still past it: no second alert
            with services.database.session() as session:
                rows = session.scalars(
                    select(AlertOutboxRow).where(AlertOutboxRow.event == "client_risk_high")
                ).all()
                assert [(row.client_key, row.subject) for row in rows] == [("TOX", "*")]
                assert rows[0].payload["value"] == score
                assert "client risk score" in rows[0].payload["text"]
        finally:
            services.close()


def test_the_panel_shows_risk_in_the_internal_section_only(assessed: Agency) -> None:
    add_people(assessed.services)
    app = create_app(services=assessed.services)
    admin, viewer = app.test_client(), app.test_client()
    sign_in(admin, "ada")
    sign_in(viewer, "vera")
    page = admin.get("/clients/LAG").get_data(as_text=True)
    internal = page[page.index('data-section="internal"') :]
    assert 'data-part="client-risk"' in internal
    assert 'data-verdict="check_pm"' in internal and "Check the PM first" in internal
    assert "<svg" in internal and "risk-trend" in internal
    assert "different project manager</mark>" in internal
    russian = admin.get("/clients/LAG?lang=ru").get_data(as_text=True)
    assert "Сначала проверьте менеджера" in russian
    hidden = viewer.get("/clients/LAG").get_data(as_text=True)
    assert "client-risk" not in hidden and "Check the PM first" not in hidden
    # The portfolio's risk column, sortable, for admins only.
    ranked = admin.get("/?sort=risk&dir=desc").get_data(as_text=True)
    at = {key: ranked.index(f'data-client="{key}"') for key in ("TOX", "LAG", "RET", "HLT")}
    assert min(at, key=at.__getitem__) == "TOX" and max(at, key=at.__getitem__) == "HLT"
    assert 'data-field="risk"' in ranked
    plain = viewer.get("/?sort=risk").get_data(as_text=True)
    assert 'data-field="risk"' not in plain and "Client risk" not in plain


def test_the_brief_page_checks_a_pasted_brief_or_an_issue(assessed: Agency) -> None:
    add_people(assessed.services)
    app = create_app(services=assessed.services)
    pm = app.test_client()
    sign_in(pm, "pat")  # a pm of HLT only
    form = pm.get("/brief").get_data(as_text=True)
    token = form_token(form)
    brief = "Сделайте душевно и красиво, как обсуждали. Срочно!"
    page = pm.post("/brief", data={"csrf_token": token, "text": brief}).get_data(as_text=True)
    assert 'data-part="brief-result"' in page
    assert '<mark data-kind="vague">душевно</mark>' in page
    assert '<mark data-kind="undocumented">как обсуждали</mark>' in page
    assert "Acceptance criteria: missing." in page
    assert "Как мы с вами поймём" in page  # the questions come in the brief's language
    # A synced issue's description, from a client the pm may see; others are not found.
    hlt = pm.post("/brief", data={"csrf_token": token, "issue": "HLT-1"})
    assert hlt.status_code == 200 and "Statement of work item" in hlt.get_data(as_text=True)
    assert pm.post("/brief", data={"csrf_token": token, "issue": "TOX-12"}).status_code == 404
    assert pm.post("/brief", data={"text": brief}).status_code == 400  # no form token
    assert app.test_client().get("/brief").status_code == 401  # sign in first
