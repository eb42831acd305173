"""The client page's alert delivery log and monthly report list, over the synced agency.

Alerts go through the real outbox and dispatcher to loopback receivers; reports
are rendered and stored by the report service. Both change without a new
snapshot, so the page must show them although its main part is cached.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from jira_simulator import Dataset
from scopeguard.adapters.store.alert_log import delivery_log
from scopeguard.adapters.store.report_archive import find_report, read_report, store_report
from scopeguard.bootstrap import Services
from scopeguard.config import parse_settings
from scopeguard.domain.month import Month
from scopeguard.entrypoints.web import create_app
from scopeguard.presentation.formatting import format_moment
from scopeguard.usecases.reporting import generate_report
from tests.support import clock
from tests.support.agency import Agency, build_agency
from tests.support.html import Node, parse
from tests.support.receiver import Receiver
from tests.support.services import pinned_services

HOSTILE_LOCATION = "/<script>alert('log')</script>"


@dataclass
class Alerting:
    """The synced agency seen through a configuration where HLT alerts two receivers."""

    agency: Agency
    services: Services
    app: Flask
    good: Receiver
    bad: Receiver
    """Answers every request with a redirect whose target is markup: a failed delivery."""


@pytest.fixture(scope="module")
def alerting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alerting]:
    good, bad = Receiver(), Receiver()
    bad.responses = [(302, {"Location": HOSTILE_LOCATION})] * 20
    good.start()
    bad.start()
    for agency in build_agency(tmp_path_factory.mktemp("panel-log")):
        document = yaml.safe_load(agency.config_file.read_text())
        for client in document["clients"]:
            if client["key"] == "HLT":
                client["alerts"] = [
                    {"type": "webhook", "url": good.url + "/hook", "allow_private": True},
                    {"type": "webhook", "url": bad.url + "/hook", "allow_private": True},
                ]
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        services = pinned_services(
            parse_settings(text, env={}), migrate=False, sleep=lambda _s: None
        )
        yield Alerting(agency, services, create_app(services=services), good, bad)
        services.close()
    good.stop()
    bad.stop()


@pytest.fixture
def client(alerting: Alerting) -> FlaskClient:
    return alerting.app.test_client()


def page(client: FlaskClient, path: str) -> tuple[Node, str]:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    html = response.get_data(as_text=True)
    return parse(html), html


def section(doc: Node, name: str) -> Node:
    return doc.find("section", data_section=name)


def cell(row: Node, name: str) -> str:
    return row.find("td", data_field=name).text


def shown(text: str) -> str:
    """Text as :attr:`Node.text` gives it: any run of spaces (Babel's U+202F too) as one."""
    return re.sub(r"\s+", " ", text).strip()


def add_round(dataset: Dataset, key: str) -> None:
    """One more revision round: into review, then back to work."""
    now = clock.now()
    if dataset.issue(key).status.name != "Client Review":
        dataset.transition(key, "Client Review", now - timedelta(seconds=2))
    dataset.transition(key, "In Progress", now - timedelta(seconds=1))


def test_empty_states_say_so(client: FlaskClient) -> None:
    doc, _html = page(client, "/clients/RET")
    assert "No alerts sent yet" in section(doc, "deliveries").text
    assert "No reports yet" in section(doc, "reports").text
    ru, _html = page(client, "/clients/RET?lang=ru")
    assert "Оповещений ещё не было" in section(ru, "deliveries").text
    assert "Отчётов пока нет" in section(ru, "reports").text


def test_the_delivery_log_follows_the_outbox_without_a_new_snapshot(
    alerting: Alerting, client: FlaskClient
) -> None:
    services = alerting.services
    hlt = services.settings.client("HLT")
    zone = services.settings.agency.zone
    doc, _html = page(client, "/clients/HLT")  # the main part is cached from here on
    assert not section(doc, "deliveries").find_all("tr", data_status="delivered")

    # An HLT issue with one round: two more take it past its allowance of two.
    summary = services.analysis.snapshot(hlt).summary_document
    quiet = next(key for key, count in summary["revisions"]["by_issue"].items() if count == 1)
    add_round(alerting.agency.dataset, quiet)
    add_round(alerting.agency.dataset, quiet)
    services.sync.sync_client(hlt)

    doc, _html = page(client, "/clients/HLT")
    pending = section(doc, "deliveries").find_all("tr", data_status="pending")
    assert len(pending) == 2
    assert {cell(row, "status") for row in pending} == {"Pending"}
    stamp = page(client, "/clients/HLT")[0].find("main").text

    report = services.alerts.dispatch()
    assert len(report.failed) == 1
    assert len(alerting.good.accepted()) == 1
    body = alerting.good.accepted()[0].json()
    assert (body["event"], body["issue"]) == ("revision_limit_exceeded", quiet)

    with services.database.session() as session:
        entries = delivery_log(session, "HLT", limit=50)
    doc, html = page(client, "/clients/HLT")
    assert doc.find("main").text != stamp  # same snapshot, new log
    rows = section(doc, "deliveries").find("tbody").find_all("tr")
    assert [row.attrs["data-delivery"] for row in rows] == [str(e.id) for e in entries]
    by_status = {row.attrs["data-status"]: row for row in rows}
    assert set(by_status) == {"delivered", "failed"}
    for row in rows:
        entry = next(e for e in entries if str(e.id) == row.attrs["data-delivery"])
        assert cell(row, "time") == shown(format_moment(entry.created, zone, "en"))
        assert cell(row, "event") == "Revision limit exceeded"
        assert cell(row, "issue").startswith(quiet)
        assert (
            row.find("td", data_field="issue").find("a").attrs["href"].endswith(f"/browse/{quiet}")
        )
        assert cell(row, "channel") == "Webhook"
        assert cell(row, "attempts") == "1"
    delivered = by_status["delivered"]
    assert cell(delivered, "status").startswith("Delivered")
    assert cell(delivered, "last_error") == "—"

    # The receiver's error text is markup: shown as text, never as markup.
    failed = by_status["failed"]
    assert cell(failed, "status") == "Failed"
    assert HOSTILE_LOCATION in cell(failed, "last_error")
    assert "<script" not in html
    assert "&lt;script&gt;" in html

    ru, _html = page(client, "/clients/HLT?lang=ru")
    rows = section(ru, "deliveries").find("tbody").find_all("tr")
    by_status = {row.attrs["data-status"]: row for row in rows}
    assert cell(by_status["delivered"], "status").startswith("Доставлено")
    assert cell(by_status["failed"], "status") == "Не доставлено"
    assert {cell(row, "event") for row in rows} == {"Превышен лимит правок"}
    for row in rows:
        entry = next(e for e in entries if str(e.id) == row.attrs["data-delivery"])
        assert cell(row, "time") == shown(format_moment(entry.created, zone, "ru"))

    # Other clients' deliveries stay on their own pages.
    other, _html = page(client, "/clients/RET?lang=en")
    assert "No alerts sent yet" in section(other, "deliveries").text


def test_stored_reports_are_listed_newest_first_with_a_working_download(
    alerting: Alerting, client: FlaskClient
) -> None:
    services = alerting.services
    settings = services.settings
    hlt = settings.client("HLT")
    before, _html = page(client, "/clients/HLT")  # the main part is cached from here on
    assert "No reports yet" in section(before, "reports").text
    now = clock.now()
    current = Month.of(now, settings.agency.zone)
    previous = current.previous()
    for month, language in ((previous, "en"), (current, "ru")):
        report = generate_report(services, hlt, month, language=language, now=now)
        assert store_report(services.database, settings, report, trigger="manual") is not None

    doc, _html = page(client, "/clients/HLT")
    rows = section(doc, "reports").find("tbody").find_all("tr")
    assert [row.attrs["data-month"] for row in rows] == [str(current), str(previous)]
    newest, older = rows
    month_text = newest.find("th", data_field="month").text
    assert month_text.startswith(f"{calendar.month_name[current.month]} {current.year}")
    assert "month in progress" in month_text
    assert older.find("th", data_field="month").text == (
        f"{calendar.month_name[previous.month]} {previous.year}"
    )
    assert cell(newest, "language") == "Russian" and cell(older, "language") == "English"
    assert "Not sent" in cell(older, "email")
    with services.database.session() as session:
        stored: dict[str, Any] = {}
        for month in (current, previous):
            record = find_report(session, "HLT", month)
            assert record is not None
            stored[str(month)] = (record.generated_at, read_report(settings, record))
    for row in rows:
        generated, content = stored[row.attrs["data-month"]]
        assert cell(row, "generated") == shown(format_moment(generated, settings.agency.zone, "en"))
        link = row.find("td", data_field="download").find("a")
        assert (
            link.attrs["href"] == f"/clients/HLT/reports/{row.attrs['data-month']}.pdf?download=1"
        )
        download = client.get(link.attrs["href"])
        assert download.status_code == 200
        assert download.mimetype == "application/pdf"
        assert download.headers["Content-Disposition"].startswith("attachment")
        assert download.data == content and content.startswith(b"%PDF-")
        opened = client.get(row.find("th", data_field="month").find("a").attrs["href"])
        assert opened.status_code == 200 and opened.data == content

    ru, _html = page(client, "/clients/HLT?lang=ru")
    newest_ru = section(ru, "reports").find("tbody").find_all("tr")[0]
    assert "месяц не закончился" in newest_ru.find("th", data_field="month").text
    assert cell(newest_ru, "language") == "Русский"
    assert cell(newest_ru, "email") == "Не отправлялся"
