"""The monthly report run against a real database, the Jira simulator and an SMTP server.

The run must produce one archived report per client and month and send each
one email, however often it is called: twice in a row, from two worker
processes at once, after a crash between storing and sending, or through the
scheduler's once-per-month job from two workers and a restart.
"""

from __future__ import annotations

import email
import email.policy
import io
import multiprocessing
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from pypdf import PdfReader
from sqlalchemy import select, update

from jira_simulator import Dataset, JiraSimulator, ScenarioClient, scenarios, serve
from scopeguard.adapters.store.models import JobRunRow, ReportRow
from scopeguard.adapters.store.report_archive import list_reports, report_folder, store_report
from scopeguard.bootstrap import Services
from scopeguard.config import parse_settings
from scopeguard.domain.month import Month
from scopeguard.entrypoints.cli import cli
from scopeguard.usecases.jobs import monthly_reports_follow_up, monthly_reports_job
from scopeguard.usecases.monthly_reports import MonthlyReportResult, run_monthly_reports
from scopeguard.usecases.report_mail import CLAIM, compose
from scopeguard.usecases.reporting import generate_report
from scopeguard_demo import DEMO_EMAIL, DEMO_TOKEN, build_config
from tests.support import clock
from tests.support.database import fresh_database_url
from tests.support.services import pinned_services

ZONE = clock.AGENCY_ZONE


@dataclass
class Mailbox:
    """What the SMTP server accepted."""

    messages: list[tuple[list[str], EmailMessage]]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox([])
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


@pytest.fixture(scope="module")
def jira() -> Iterator[tuple[str, list[ScenarioClient]]]:
    """The simulator with a toxic and a healthy client, 100 days into their contracts."""
    dataset = Dataset.with_default_workflow(user_timezone=ZONE.key)
    now = clock.now().astimezone(ZONE)
    start = datetime.combine(now.date() - timedelta(days=100), datetime.min.time(), tzinfo=ZONE)
    timeline = scenarios.Timeline()
    clients = [
        scenarios.toxic_client(dataset, start=start, now=now, timeline=timeline),
        scenarios.healthy_client(dataset, start=start, now=now, timeline=timeline),
    ]
    timeline.run()
    simulator = JiraSimulator(
        dataset, flavor="cloud", email=DEMO_EMAIL, api_token=DEMO_TOKEN, clock=clock.now
    )
    with serve(simulator) as url:
        yield url, clients


@dataclass
class Agency:
    config: str
    """The YAML text, so another process can build its own services from it."""
    services: Services

    @property
    def settings(self) -> Any:
        return self.services.settings


def configure(jira: tuple[str, list[ScenarioClient]], folder: Path, smtp_port: int | None) -> str:
    url, clients = jira
    document = build_config(url, clients, folder / "instance")
    document["database_url"] = fresh_database_url(folder)
    document["jira"]["api_token"] = DEMO_TOKEN
    document["clients"][0]["contract"]["report"] = {
        "language": "ru",
        "recipients": ["pm@client.example", "cfo@client.example"],
    }
    # A third client on the healthy project whose contract started long before any
    # work: its first months are quiet.
    quiet = dict(document["clients"][1], key="QUIET", name="Quiet Quarters Ltd")
    contract = dict(quiet["contract"])
    started = clock.now().astimezone(ZONE).date() - timedelta(days=200)
    contract.update(start=started.isoformat(), baseline=started.isoformat())
    quiet["contract"] = contract
    document["clients"].append(quiet)
    if smtp_port is not None:
        document["smtp"] = {
            "host": "127.0.0.1",
            "port": smtp_port,
            "security": "none",
            "sender": "reports@agency.example",
            "timeout": 10,
        }
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


@pytest.fixture
def agency(
    jira: tuple[str, list[ScenarioClient]], tmp_path: Path, smtp: tuple[Mailbox, int]
) -> Iterator[Agency]:
    text = configure(jira, tmp_path, smtp[1])
    services = pinned_services(parse_settings(text, env={}), sleep=lambda _seconds: None)
    for result in services.sync.sync_all(full=True):
        assert not isinstance(result, Exception), result
    yield Agency(text, services)
    services.close()


def rows(services: Services) -> list[ReportRow]:
    with services.database.session() as session:
        return list(session.scalars(select(ReportRow).order_by(ReportRow.client_key)))


def pdf_files(services: Services) -> list[Path]:
    return sorted(report_folder(services.settings).rglob("*.pdf"))


def by_client(results: list[MonthlyReportResult]) -> dict[str, tuple[str, str]]:
    return {r.client_key: (r.status, r.email) for r in results}


# --- the run -------------------------------------------------------------------------


def test_the_run_archives_and_emails_last_month_once(
    agency: Agency, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, _port = smtp
    now = clock.now()
    month = str(Month.of(now, ZONE).previous())
    first = run_monthly_reports(agency.services, now)
    assert by_client(first) == {
        "TOX": ("generated", "sent"),
        "HLT": ("generated", "not_configured"),
        "QUIET": ("generated", "not_configured"),
    }
    assert {r.month for r in first} == {month}
    stored = rows(agency.services)
    assert [(r.client_key, r.month, r.complete, r.trigger) for r in stored] == [
        ("HLT", month, True, "scheduled"),
        ("QUIET", month, True, "scheduled"),
        ("TOX", month, True, "scheduled"),
    ]
    assert len(pdf_files(agency.services)) == 3

    (recipients, message) = mailbox.messages[0]
    assert len(mailbox.messages) == 1
    assert sorted(recipients) == ["cfo@client.example", "pm@client.example"]
    assert str(message["Subject"]).startswith("Toxic Retail Co: отчёт по объёму работ")
    assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
    assert "Toxic Retail Co" in message.get_body(("plain",)).get_content()
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == f"TOX-{month}.pdf"
    pdf = attachment.get_content()
    tox = next(r for r in stored if r.client_key == "TOX")
    assert pdf == (report_folder(agency.settings) / tox.file_name).read_bytes()
    assert len(PdfReader(io.BytesIO(pdf)).pages) == tox.pages
    assert tox.language == "ru" and tox.emailed_at is not None and tox.email_error is None

    # Called again (a restart, a second worker later): nothing new, nothing re-sent.
    again = run_monthly_reports(agency.services, now + timedelta(minutes=5))
    assert by_client(again) == {
        "TOX": ("kept", "already_sent"),
        "HLT": ("kept", "not_configured"),
        "QUIET": ("kept", "not_configured"),
    }
    assert [(r.pk, r.sha256) for r in rows(agency.services)] == [(r.pk, r.sha256) for r in stored]
    assert len(mailbox.messages) == 1
    assert len(pdf_files(agency.services)) == 3


def _worker(config: str, now: str, queue: Any) -> None:
    """One worker process: its own engine and services on the shared database."""
    services = pinned_services(parse_settings(config, env={}), migrate=False)
    try:
        results = run_monthly_reports(services, datetime.fromisoformat(now))
        queue.put([(r.client_key, r.status, r.email) for r in results])
    finally:
        services.close()


def test_two_workers_at_once_keep_one_report_and_send_one_email(
    agency: Agency, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, _port = smtp
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    now = clock.now().isoformat()
    # The toxic client only (the one with recipients): each worker renders one report.
    document = yaml.safe_load(agency.config)
    document["clients"] = [c for c in document["clients"] if c["key"] == "TOX"]
    config = yaml.safe_dump(document, allow_unicode=True)
    workers = [context.Process(target=_worker, args=(config, now, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    outcomes = [queue.get(timeout=240) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    tox = [tuple(status) for outcome in outcomes for key, *status in outcome if key == "TOX"]
    # Both render; the unique key lets one keep its report, the email claim lets one send.
    assert sorted(status for status, _email in tox) == ["generated", "kept"]
    assert [email for _status, email in tox].count("sent") == 1
    assert len(mailbox.messages) == 1
    assert [r.client_key for r in rows(agency.services)] == ["TOX"]
    assert len(pdf_files(agency.services)) == 1


def test_a_crash_between_storing_and_sending_is_finished_once(
    agency: Agency, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, _port = smtp
    services = agency.services
    # 08:00 on the 1st, when the monthly run starts: the resumed run below is then
    # still in the same month, whatever day the suite's clock is pinned to.
    now = Month.of(clock.now(), ZONE).start(ZONE) + timedelta(hours=8)
    month = Month.of(now, ZONE).previous()
    tox = services.settings.client("TOX")
    # The run stored TOX's report, then the process died before the email went out.
    stored = store_report(
        services.database,
        services.settings,
        generate_report(services, tox, month, now=now),
        trigger="scheduled",
        recipients=tox.contract.report.recipients,
    )
    assert stored is not None
    # ...and another process is sending it right now (a live claim): leave it alone.
    with services.database.session() as session:
        session.execute(update(ReportRow).values(email_claimed_at=now))
    busy = run_monthly_reports(services, now)
    assert by_client(busy)["TOX"] == ("kept", "busy")
    assert mailbox.messages == []
    # The sender died: its claim runs out and the next run sends the report, once.
    later = now + CLAIM + timedelta(minutes=1)
    resumed = run_monthly_reports(services, later)
    assert by_client(resumed)["TOX"] == ("kept", "sent")
    assert len(mailbox.messages) == 1
    assert by_client(run_monthly_reports(services, later))["TOX"] == ("kept", "already_sent")
    assert len(mailbox.messages) == 1


def test_a_report_made_mid_month_is_replaced_by_the_complete_one(agency: Agency) -> None:
    services = agency.services
    month = Month.of(clock.now(), ZONE).previous()
    hlt = services.settings.client("HLT")
    mid_month = month.start(ZONE) + timedelta(days=14)
    early = store_report(
        services.database,
        services.settings,
        generate_report(services, hlt, month, now=mid_month),
        trigger="manual",
    )
    assert early is not None and early.complete is False
    results = run_monthly_reports(services, clock.now())
    assert by_client(results)["HLT"] == ("generated", "not_configured")
    (row,) = [r for r in rows(services) if r.client_key == "HLT"]
    assert row.pk == early.pk and row.complete is True and row.sha256 != early.sha256
    assert not (report_folder(services.settings) / early.file_name).exists()
    with services.database.session() as session:
        assert [r.month for r in list_reports(session, "HLT")] == [str(month)]


def test_an_smtp_failure_is_recorded_and_retried_by_the_next_run(
    jira: tuple[str, list[ScenarioClient]], tmp_path: Path, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    dead = free_port()  # nothing listens here
    text = configure(jira, tmp_path, dead)
    services = pinned_services(parse_settings(text, env={}), sleep=lambda _seconds: None)
    try:
        assert not any(isinstance(r, Exception) for r in services.sync.sync_all(full=True))
        now = clock.now()
        failed = run_monthly_reports(services, now)
        assert by_client(failed)["TOX"] == ("generated", "failed")
        (tox,) = [r for r in rows(services) if r.client_key == "TOX"]
        assert tox.emailed_at is None and "127.0.0.1" in (tox.email_error or "")
    finally:
        services.close()
    # The mail server is back (the configuration now names it): the next run sends it.
    healed = pinned_services(parse_settings(text.replace(f"port: {dead}", f"port: {port}"), env={}))
    try:
        assert by_client(run_monthly_reports(healed, now))["TOX"] == ("kept", "sent")
        assert len(mailbox.messages) == 1
    finally:
        healed.close()


def test_the_scheduler_follows_up_hourly_on_what_the_monthly_run_could_not_send(
    jira: tuple[str, list[ScenarioClient]], tmp_path: Path, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    dead = free_port()  # nothing listens here
    text = configure(jira, tmp_path, dead)
    local = clock.now().astimezone(ZONE)
    first_at_nine = local.replace(day=1, hour=9, minute=0, second=0, microsecond=0)
    services = pinned_services(parse_settings(text, env={}), sleep=lambda _seconds: None)
    try:
        assert not any(isinstance(r, Exception) for r in services.sync.sync_all(full=True))
        assert not monthly_reports_follow_up(services, "worker-a", first_at_nine)  # no run yet
        assert monthly_reports_job(services, "worker-a", first_at_nine)
        assert mailbox.messages == []  # the mail server was down
    finally:
        services.close()
    healed = pinned_services(parse_settings(text.replace(f"port: {dead}", f"port: {port}"), env={}))
    try:
        later = first_at_nine + timedelta(minutes=30)
        assert monthly_reports_follow_up(healed, "worker-b", later)
        sent = len(mailbox.messages)
        assert sent >= 1  # every client with recipients got last month's report now
        assert not monthly_reports_follow_up(healed, "worker-a", later + timedelta(minutes=5))
        assert monthly_reports_follow_up(healed, "worker-a", later + timedelta(hours=1))
        assert len(mailbox.messages) == sent  # nothing is sent twice
        assert not monthly_reports_follow_up(healed, "worker-a", first_at_nine + timedelta(days=5))
    finally:
        healed.close()


def test_the_scheduled_job_runs_once_per_month_across_workers_and_a_restart(
    agency: Agency, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, _port = smtp
    local = clock.now().astimezone(ZONE)
    first_at_nine = local.replace(day=1, hour=9, minute=0, second=0, microsecond=0)
    other = pinned_services(parse_settings(agency.config, env={}), migrate=False)
    try:
        assert monthly_reports_job(agency.services, "worker-a", first_at_nine)
        assert not monthly_reports_job(other, "worker-b", first_at_nine + timedelta(seconds=1))
    finally:
        other.close()
    restarted = pinned_services(parse_settings(agency.config, env={}), migrate=False)
    try:
        assert not monthly_reports_job(restarted, "worker-a", first_at_nine + timedelta(hours=2))
        with restarted.database.session() as session:
            runs = session.scalars(select(JobRunRow).where(JobRunRow.job == "monthly_reports"))
            assert [(r.period, r.status) for r in runs] == [(local.strftime("%Y-%m"), "done")]
    finally:
        restarted.close()
    month = str(Month.of(first_at_nine, ZONE).previous())
    assert [(r.client_key, r.month) for r in rows(agency.services)] == [
        ("HLT", month),
        ("QUIET", month),
        ("TOX", month),
    ]
    assert len(mailbox.messages) == 1


def test_a_month_without_activity_gives_a_short_report_saying_so(
    agency: Agency, tmp_path: Path
) -> None:
    services = agency.services
    quiet = services.settings.client("QUIET")
    first = Month.of(quiet.contract.to_contract(ZONE).start, ZONE)
    report = generate_report(services, quiet, first.next(), language="en")
    assert report.data.has_activity is False
    path = tmp_path / "quiet.pdf"
    path.write_bytes(report.pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Quiet Quarters Ltd" in " ".join(text.split())
    assert "No activity in" in text
    assert "No scope was added this month." in text
    assert "No revision round went beyond the allowance this month." in text
    assert 2 <= report.rendered.pages <= 4
    assert len(PdfReader(path).pages) == report.rendered.pages


def test_a_russian_subject_arrives_as_written(agency: Agency) -> None:
    from scopeguard.adapters.delivery.email import build_message  # noqa: PLC0415

    smtp = agency.settings.smtp
    client = agency.settings.client("TOX")
    with agency.services.database.session() as session:
        session.add(
            ReportRow(
                client_key="TOX",
                month="2026-10",
                language="ru",
                file_name="x.pdf",
                size_bytes=1,
                sha256="0" * 64,
                pages=1,
                generated_at=clock.now(),
                as_of=clock.now(),
                complete=True,
                trigger="manual",
                recipients=[],
            )
        )
    (row,) = rows(agency.services)
    subject, text, _html, _name = compose(agency.settings, client, row)
    assert subject == "Toxic Retail Co: отчёт по объёму работ за октябрь 2026"
    raw = build_message(smtp, ["pm@client.example"], subject, text).as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(parsed["Subject"]) == subject


def test_the_command_line_stores_and_emails_a_report_on_demand(
    agency: Agency, smtp: tuple[Mailbox, int], tmp_path: Path
) -> None:
    mailbox, _port = smtp
    config = tmp_path / "scopeguard.yaml"
    config.write_text(agency.config)
    month = str(Month.of(clock.now(), ZONE).previous())
    command = ["--config", str(config), "report", "--client", "TOX", "--month", month]
    sent = CliRunner().invoke(cli, [*command, "--email"], obj={"clock": clock.now})
    assert sent.exit_code == 0, sent.output
    assert "emailed to pm@client.example, cfo@client.example" in sent.output
    assert len(mailbox.messages) == 1
    # Asked again, it is sent again (a person asked for it), and still one report is kept.
    again = CliRunner().invoke(cli, [*command, "--email"], obj={"clock": clock.now})
    assert again.exit_code == 0, again.output
    assert len(mailbox.messages) == 2
    assert [(r.client_key, r.trigger) for r in rows(agency.services)] == [("TOX", "manual")]
    # No recipients for HLT: stored, but the command says it could not email it.
    hlt = CliRunner().invoke(
        cli,
        ["--config", str(config), "report", "--client", "HLT", "--month", month, "--email"],
        obj={"clock": clock.now},
    )
    assert hlt.exit_code == 1 and "not emailed" in hlt.output


def _with_internal_recipients(text: str) -> str:
    document = yaml.safe_load(text)
    document["clients"][0]["contract"]["report"]["internal_recipients"] = ["head@agency.example"]
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def test_the_internal_report_goes_to_the_agency_once_and_is_tried_again_after_a_failure(
    jira: tuple[str, list[ScenarioClient]], tmp_path: Path, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    dead = free_port()  # nothing listens here at first
    text = _with_internal_recipients(configure(jira, tmp_path, dead))
    now = clock.now()
    services = pinned_services(parse_settings(text, env={}), sleep=lambda _seconds: None)
    try:
        assert not any(isinstance(r, Exception) for r in services.sync.sync_all(full=True))
        run_monthly_reports(services, now)
        with services.database.session() as session:
            (run,) = session.scalars(select(JobRunRow).where(JobRunRow.job == "internal_report"))
        assert run.status == "failed" and run.period.startswith("TOX:")
    finally:
        services.close()
    # The mail server is back: the next run (the hourly follow-up's) sends it, once.
    healed_text = text.replace(f"port: {dead}", f"port: {port}")
    for _ in range(2):
        healed = pinned_services(parse_settings(healed_text, env={}))
        try:
            run_monthly_reports(healed, now)
        finally:
            healed.close()
    internal = [
        (to, message)
        for to, message in mailbox.messages
        if any(p.get_filename().endswith("-internal.pdf") for p in message.iter_attachments())
    ]
    (only,) = internal
    assert only[0] == ["head@agency.example"]  # never the client's recipients
    assert "внутренний отчёт с риском клиента" in only[1]["Subject"]  # TOX's reports are ru
    pdf = next(p for p in only[1].iter_attachments() if p.get_filename().endswith(".pdf"))
    text_of_pdf = "".join(
        page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf.get_content())).pages
    )
    assert "Риск клиента" in text_of_pdf
