"""The ``scopeguard`` command line.

Exit codes: 0 success, 1 a run failed (Jira or the database unreachable, the
database schema not this release's, a sync error), 2 the configuration or the
command line is wrong. Expected failures are one clear message, never a traceback.
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from scopeguard import __version__
from scopeguard.adapters.jira import JiraClient
from scopeguard.adapters.store.db import (
    Database,
    DatabaseError,
    DatabaseUrlError,
    head_revision,
    is_known_revision,
)
from scopeguard.adapters.store.errors import STORAGE_ERRORS, describe_storage_error
from scopeguard.adapters.store.repository import history_count, issue_count
from scopeguard.adapters.store.worklogs import worklog_count
from scopeguard.bootstrap import Services
from scopeguard.config import ClientSettings, ConfigError, Settings, config_path, load_settings
from scopeguard.domain.access import Role, parse_role
from scopeguard.domain.figures import ClientFigures
from scopeguard.entrypoints.health_listener import HealthPortError
from scopeguard.presentation.brief_document import BriefDocument
from scopeguard.presentation.documents import RiskDocument, top_findings
from scopeguard.usecases.doctor import diagnose
from scopeguard.usecases.people import PeopleError
from scopeguard.usecases.risk import ranking
from scopeguard.usecases.sync import SyncError

EXIT_FAILED = 1
EXIT_CONFIG = 2


def _fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def _settings(ctx: click.Context) -> Settings:
    obj: dict[str, Any] = ctx.ensure_object(dict)
    if "settings" not in obj:
        try:
            obj["settings"] = load_settings(obj.get("config_path"))
        except ConfigError as error:
            _fail(str(error), EXIT_CONFIG)
    settings: Settings = obj["settings"]
    return settings


def _services(ctx: click.Context, *, syncing: bool = False) -> Services:
    obj: dict[str, Any] = ctx.ensure_object(dict)
    if "services" not in obj:
        # ``obj["clock"]``: what time it is, for callers that pin it (the tests).
        settings = _settings(ctx)
        services = Services(settings, migrate=settings.database_auto_migrate, syncing=syncing)
        if "clock" in obj:
            services.clock = obj["clock"]
        obj["services"] = services
        ctx.call_on_close(services.close)
    result: Services = obj["services"]
    return result


class _Commands(click.Group):
    """The command group, turning database problems into one message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DatabaseUrlError as error:
            _fail(str(error), EXIT_CONFIG)
        except DatabaseError as error:  # unreachable, or the schema is not this release's
            _fail(str(error), EXIT_FAILED)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Configuration file (default: $SCOPEGUARD_CONFIG, else ./scopeguard.yaml).",
)
@click.version_option(__version__, prog_name="scopeguard")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """ScopeGuard: scope creep and revision rounds of client projects in Jira."""
    ctx.ensure_object(dict)["config_path"] = config_path


@cli.command("check-config")
@click.pass_context
def check_config(ctx: click.Context) -> None:
    """Validate the configuration; list every problem with its key path."""
    settings = _settings(ctx)
    click.echo(
        f"configuration is valid: {len(settings.clients)} client(s), "
        f"Jira {settings.jira.base_url} ({settings.jira.deployment.value})"
    )


@cli.group()
def db() -> None:
    """Database schema: migrate it, show its revision.

    Run `scopeguard db upgrade` once per release, before the new release's web and
    worker start (the Helm chart's migration Job does); they refuse to start on a
    schema that is not theirs unless `database_auto_migrate: true`.
    """


def _database(ctx: click.Context) -> Database:
    database = Database(_settings(ctx).resolved_database_url)
    ctx.call_on_close(database.dispose)
    return database


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Migrate the database schema to this release's revision."""
    database = _database(ctx)
    before = database.current_revision()
    database.upgrade()
    after = database.current_revision()
    if before == after:
        click.echo(f"database schema is up to date (revision {after})")
    else:
        click.echo(f"database schema upgraded from revision {before or 'none'} to {after}")


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Print the database schema's revision and whether it is this release's."""
    current = _database(ctx).current_revision()
    head = head_revision()
    if current == head:
        state = "this release's"
    elif is_known_revision(current):
        state = f"behind: this release needs {head}, run `scopeguard db upgrade`"
    else:
        state = f"unknown to this release (schema {head}): migrated by a newer release"
    click.echo(f"{current or 'none'} ({state})")


@db.command("downgrade")
@click.argument("revision")
@click.pass_context
def db_downgrade(ctx: click.Context, revision: str) -> None:
    """Undo migrations down to REVISION, dropping what they added, with its data.

    Run it with the release that made the migrations (only it knows how to undo
    them), before rolling back to an older release: `scopeguard db current` of the
    older release names the revision it needs. Back the database up first.
    """
    from alembic.util.exc import CommandError  # noqa: PLC0415 - only this command needs it

    database = _database(ctx)
    before = database.current_revision()
    try:
        database.downgrade(revision)
    except CommandError as error:
        _fail(f"cannot downgrade to {revision!r}: {error}", EXIT_CONFIG)
    click.echo(
        f"database schema downgraded from revision {before or 'none'} "
        f"to {database.current_revision() or 'none'}"
    )


@cli.command()
@click.option("--full", is_flag=True, help="Read every issue again, not only the updated ones.")
@click.option("--client", "client_key", default=None, help="Only this client (its key).")
@click.pass_context
def sync(ctx: click.Context, full: bool, client_key: str | None) -> None:
    """Read issues and their complete change histories from Jira."""
    services = _services(ctx)
    clients = _clients(services.settings, client_key)
    if not clients:
        _fail("no clients configured (add them under `clients:`)", EXIT_CONFIG)
    failed = False
    for client in clients:
        try:
            report = services.sync.sync_client(client, full=full)
        except SyncError as error:
            failed = True
            click.echo(f"{client.key}: FAILED: {error.cause}", err=True)
            continue
        except STORAGE_ERRORS as error:  # the database refused even the run's first write
            failed = True
            click.echo(f"{client.key}: FAILED: {describe_storage_error(error)}", err=True)
            continue
        click.echo(report.line())
    _assess_risk(services)
    if failed:
        sys.exit(EXIT_FAILED)


def _assess_risk(services: Services) -> None:
    """After syncing: every client's risk (against the others) and its alerts."""
    try:
        services.risk.refresh()
    except Exception as error:  # the sync is done; the next round of syncs assesses again
        click.echo(f"client risk: FAILED: {error}", err=True)


@cli.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check Jira access: connectivity, sign-in, every permission, every client's JQL."""
    settings = _settings(ctx)
    # No database needed: the doctor is what to run when nothing else works yet.
    client = JiraClient(settings.jira)
    try:
        diagnosis = diagnose(settings, client.transport)
    finally:
        client.close()
    for check in diagnosis.checks:
        click.echo(check.line())
    if not diagnosis.ok:
        failed = sum(1 for check in diagnosis.checks if not check.ok)
        _fail(f"{failed} of {len(diagnosis.checks)} checks failed", EXIT_FAILED)
    click.echo(f"all {len(diagnosis.checks)} checks passed")


@cli.command()
@click.pass_context
def counts(ctx: click.Context) -> None:
    """Print what is stored per client: issues and changelog histories."""
    services = _services(ctx)
    with services.database.session() as session:
        for client in services.settings.clients:
            click.echo(
                f"{client.key:<12} {client.name:<30} "
                f"{issue_count(session, client.key):>6} issues "
                f"{history_count(session, client.key):>7} histories "
                f"{worklog_count(session, client.key):>7} worklogs"
            )


@cli.command()
@click.option("--client", "client_key", default=None, help="Only this client (its key).")
@click.option("--json", "as_json", is_flag=True, help="The same JSON as the API's summary.")
@click.pass_context
def status(ctx: click.Context, client_key: str | None, as_json: bool) -> None:
    """Where each client's contract stands: scope, creep, revisions, reopens, health."""
    services = _services(ctx)
    clients = _clients(services.settings, client_key)
    snapshots = [services.analysis.snapshot(client) for client in clients]
    if as_json:
        documents = [snapshot.summary_document for snapshot in snapshots]
        body = documents[0] if client_key is not None else documents
        click.echo(json.dumps(body, indent=2, ensure_ascii=False))
        return
    click.echo(format_status_table([snapshot.figures for snapshot in snapshots]))


@cli.command()
@click.option("--client", "client_key", default=None, help="Only this client (its key).")
@click.option("--json", "as_json", is_flag=True, help="The same JSON as the API's /risk.")
@click.pass_context
def risk(ctx: click.Context, client_key: str | None, as_json: bool) -> None:
    """Each client's risk: score, level, the agency side, the verdict and its top reasons.

    Internal: the output names the client's behaviour; do not send it to the client.
    """
    services = _services(ctx)
    clients = _clients(services.settings, client_key)
    current = services.risk.refresh()  # an operator asking: assessed now if stale
    wanted = {client.key for client in clients}
    documents = [current[key].document for key in ranking(current) if key in wanted]
    if as_json:
        body: Any = documents[0] if client_key is not None and documents else documents
        click.echo(json.dumps(body, indent=2, ensure_ascii=False))
        return
    click.echo(format_risk_table(documents))


def format_risk_table(documents: list[RiskDocument]) -> str:
    """Risk documents (riskiest first) as plain text: a row per client, then its reasons."""
    header = f"{'client':<10} {'score':>5} {'level':<9} {'agency':>6} {'verdict':<9} status"
    lines = [header, "-" * len(header)]
    for document in documents:
        score, agency = document["score"], document["agency_score"]
        lines.append(
            f"{document['client']:<10} {'-' if score is None else score:>5} "
            f"{document['level'] or '-':<9} {'-' if agency is None else agency:>6} "
            f"{document['verdict']:<9} {document['shortage'] or document['status']}"
        )
        for finding in top_findings(document, 3):
            events = ", ".join(
                f"{e['issue']} {e['kind']} {e['at'][:16]}" for e in finding["evidence"][:3]
            )
            lines.append(
                f"    {finding['side']:<6} {finding['signal']:<18} {finding['value']:g} "
                f"(others {finding['peer_median']}): {events}"
            )
    return "\n".join(lines)


def format_status_table(clients: list[ClientFigures]) -> str:
    """The clients' summaries as a plain-text table, one client per row."""
    header = (
        f"{'client':<10} {'health':<8} {'unit':<13} {'contracted':>10} {'creep':>8} "
        f"{'creep %':>8} {'revisions':>9} {'over':>5} {'reopens':>7} {'overage':>12}"
    )
    lines = [header, "-" * len(header)]
    for figures in clients:
        summary = figures.summary
        scope, revisions, overage = summary.scope, summary.revisions, summary.overage
        percent = scope.creep_percent
        lines.append(
            f"{figures.key:<10} {summary.health:<8} {scope.unit:<13} "
            f"{scope.contracted:>10g} {scope.creep:>8g} "
            f"{'-' if percent is None else f'{percent:.1f}':>8} {revisions.total:>9} "
            f"{len(revisions.over_limit):>5} {summary.reopens.total:>7} "
            f"{overage.amount:>8.2f} {overage.currency}"
        )
    return "\n".join(lines)


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="SCOPEGUARD_HOST",
    help="Address to listen on ($SCOPEGUARD_HOST; the container image sets 0.0.0.0).",
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    envvar="SCOPEGUARD_PORT",
    help="Port to listen on ($SCOPEGUARD_PORT).",
)
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    envvar="SCOPEGUARD_WEB_WORKERS",
    help="gunicorn worker processes.",
)
@click.option(
    "--timeout",
    default=60,
    show_default=True,
    type=click.IntRange(1),
    envvar="SCOPEGUARD_WEB_TIMEOUT",
    help="Seconds a request may take before gunicorn restarts its worker.",
)
@click.option(
    "--health-port",
    default=None,
    type=click.IntRange(1, 65535),
    envvar="SCOPEGUARD_HEALTH_PORT",
    help=(
        "Also answer /healthz on this port, from gunicorn's master process, however busy "
        "the workers are: for liveness probes ($SCOPEGUARD_HEALTH_PORT; the image sets 8001)."
    ),
)
@click.option(
    "--dev",
    is_flag=True,
    help="Werkzeug's development server instead, with the periodic jobs in-process.",
)
@click.option("--no-scheduler", is_flag=True, help="With --dev: no periodic jobs in-process.")
@click.pass_context
def serve(  # noqa: PLR0917 - one parameter per command-line option
    ctx: click.Context,
    host: str,
    port: int,
    workers: int,
    timeout: int,
    health_port: int | None,
    dev: bool,
    no_scheduler: bool,
) -> None:
    """Serve the dashboard, the JSON API and the Forge endpoints with gunicorn.

    It never runs the periodic jobs (sync, alerts, reports): run `scopeguard worker`
    beside it. Other gunicorn settings come from $GUNICORN_CMD_ARGS. The database
    schema must be this release's (`scopeguard db upgrade`) unless
    `database_auto_migrate: true`. --health-port also answers /healthz on a port of
    its own, from gunicorn's master process, however busy the workers are (for
    liveness probes). --dev serves with werkzeug for one user, with the jobs in
    the same process unless --no-scheduler.
    """
    if no_scheduler and not dev:
        raise click.UsageError("--no-scheduler goes with --dev: gunicorn never runs the jobs")
    if health_port is not None and health_port == port:
        raise click.UsageError("--health-port must differ from --port")
    scheduler = dev and not no_scheduler
    services = _services(ctx, syncing=scheduler)
    services.database  # noqa: B018 - refuse now, in one process, if the schema is not ours
    if dev:
        from scopeguard.entrypoints.devserver import serve_forever  # noqa: PLC0415

        click.echo(f"serving http://{host}:{port}/ (development server)")
        try:
            serve_forever(services, host, port, scheduler=scheduler, health_port=health_port)
        except HealthPortError as error:
            _fail(str(error), EXIT_FAILED)
        return
    from scopeguard.entrypoints.webserver import run_gunicorn  # noqa: PLC0415

    # The workers open their own connections after the fork; the check's must not leak.
    services.close()
    try:
        run_gunicorn(
            services.settings,
            host=host,
            port=port,
            workers=workers,
            timeout=timeout,
            health_port=health_port,
        )
    except HealthPortError as error:
        _fail(str(error), EXIT_FAILED)
    except SystemExit as stop:
        # gunicorn exits 3 or 4 when its workers cannot boot: one failure code for us.
        sys.exit(0 if stop.code in (0, None) else EXIT_FAILED)


@cli.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run the periodic jobs (sync, alert dispatch, monthly reports) until stopped.

    Several workers may run against one database. On PostgreSQL they share the
    clients, each taking one client's sync, alerts or report at a time; on SQLite
    one holds the scheduler lease and runs the jobs, the others stand by and take
    over if it stops.
    """
    import logging  # noqa: PLC0415 - only this command configures logging
    import signal  # noqa: PLC0415
    import threading  # noqa: PLC0415

    from scopeguard.entrypoints.worker import build_scheduler  # noqa: PLC0415

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # APScheduler logs every run at INFO; ScopeGuard logs the runs that matter.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    services = _services(ctx, syncing=True)
    services.database  # noqa: B018 - refuse now, before any job thread, if the schema is not ours
    jobs = build_scheduler(services)
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    jobs.start()
    click.echo(f"worker {jobs.holder} running; stop with Ctrl-C or SIGTERM", err=True)
    while not stop.wait(1.0):
        pass
    jobs.shutdown(wait=True)
    click.echo(f"worker {jobs.holder} stopped", err=True)


@cli.group()
def alerts() -> None:
    """Alert delivery: dispatch the outbox, list deliveries, test channels."""


@alerts.command("dispatch")
@click.pass_context
def alerts_dispatch(ctx: click.Context) -> None:
    """Deliver every alert that is due now and exit (exit 1 if a delivery failed for good)."""
    services = _services(ctx)
    batch = services.settings.alerts.batch
    dispatcher = services.alerts.dispatcher()
    delivered = retrying = failed = 0
    while True:
        report = dispatcher.dispatch()
        delivered += len(report.delivered)
        retrying += len(report.retrying)
        failed += len(report.failed)
        if len(report.delivered) + len(report.retrying) + len(report.failed) < batch:
            break
    click.echo(f"delivered {delivered}, retrying {retrying}, failed {failed}")
    if failed:
        sys.exit(EXIT_FAILED)


@alerts.command("list")
@click.option("--client", "client_key", default=None, help="Only this client (its key).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@click.pass_context
def alerts_list(ctx: click.Context, client_key: str | None, limit: int, as_json: bool) -> None:
    """The latest alert deliveries, newest first, with their status and last error."""
    from scopeguard.adapters.store.alert_log import delivery_log  # noqa: PLC0415

    services = _services(ctx)
    settings = services.settings
    if client_key is not None:
        _client(settings, client_key)
    with services.database.session() as session:
        entries = delivery_log(session, client_key, limit)
    if as_json:
        body = [entry.to_json() for entry in entries]
        click.echo(json.dumps(body, indent=2, ensure_ascii=False))
        return
    if not entries:
        click.echo("no alerts")
        return
    zone = settings.agency.zone
    for entry in entries:
        created = entry.created.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        line = (
            f"{created}  {entry.client:<8} {entry.event:<24} {entry.issue or '-':<10} "
            f"{entry.channel:<7} {entry.status:<9} {entry.attempts:>2}"
        )
        if entry.last_error:
            line += f"  {entry.last_error}"
        click.echo(line)


@alerts.command("test")
@click.option("--client", "client_key", required=True, help="The client whose channels to test.")
@click.pass_context
def alerts_test(ctx: click.Context, client_key: str) -> None:
    """Send a test message through each of the client's channels, right now."""
    services = _services(ctx)
    settings = services.settings
    client = _client(settings, client_key)
    results = services.alerts.send_test(client)
    if not results:
        _fail(f"{client_key}: no alert channels configured (`alerts:`)", EXIT_CONFIG)
    for result in results:
        target = result.channel.url or ", ".join(result.channel.to)
        outcome = "ok" if result.error is None else f"FAILED: {result.error}"
        click.echo(f"#{result.index + 1} {result.channel.type} {target}: {outcome}")
    if any(not result.ok for result in results):
        sys.exit(EXIT_FAILED)


@cli.command()
@click.option("--client", "client_key", required=True, help="The client (its key).")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month, in agency time.")
@click.option(
    "--lang",
    "language",
    type=click.Choice(["en", "ru"]),
    default=None,
    help="Language (default: the client's contract.report.language).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the PDF here.",
)
@click.option("--store", is_flag=True, help="Keep it in the archive, replacing that month's.")
@click.option("--email", is_flag=True, help="Store it and email it to the report recipients.")
@click.option(
    "--internal",
    is_flag=True,
    help="The agency's variant with the client risk (only with --out: never archived or "
    "sent to the client).",
)
@click.pass_context
def report(  # noqa: PLR0917 - one parameter per command-line option
    ctx: click.Context,
    client_key: str,
    month: str,
    language: str | None,
    out: str | None,
    store: bool,
    email: bool,
    internal: bool,
) -> None:
    """Produce one client's monthly PDF report from the stored Jira data."""
    # Imported here: WeasyPrint is only loaded by the commands that render PDFs.
    from scopeguard.adapters.store.report_archive import store_report  # noqa: PLC0415
    from scopeguard.domain.month import Month  # noqa: PLC0415
    from scopeguard.domain.monthly_report import MonthOutsideDataError, ReportError  # noqa: PLC0415
    from scopeguard.usecases.report_mail import email_report  # noqa: PLC0415
    from scopeguard.usecases.reporting import generate_report  # noqa: PLC0415

    if out is None and not (store or email):
        _fail("say where the report goes: --out FILE.pdf, --store or --email", EXIT_CONFIG)
    if internal and (store or email or out is None):
        _fail("--internal writes only to --out FILE.pdf: risk wording never goes to the client")
    services = _services(ctx)
    settings = services.settings
    client = _client(settings, client_key)
    try:
        wanted = Month.parse(month)
    except ValueError as error:
        _fail(str(error), EXIT_CONFIG)
    now = services.clock()
    try:
        generated = generate_report(
            services, client, wanted, language=language, now=now, internal=internal
        )
    except MonthOutsideDataError as error:
        _fail(f"{client.key}: {error}", EXIT_CONFIG)
    except ReportError as error:
        _fail(str(error), EXIT_FAILED)
    if out is not None:
        Path(out).write_bytes(generated.pdf)
    where = [out] if out is not None else []
    if store or email:
        store_report(
            services.database,
            settings,
            generated,
            trigger="manual",
            recipients=client.contract.report.recipients,
        )
        where.append("the archive")
    click.echo(
        f"{client.key} {wanted} ({generated.language}): {generated.rendered.pages} pages, "
        f"{len(generated.pdf) // 1024} KiB, written to {' and '.join(where)}"
    )
    if email:
        outcome = email_report(
            services.database, settings, client, wanted, now=now, force=True, sleep=services.sleep
        )
        if outcome.status == "not_configured":
            _fail("not emailed: set `smtp:` and the client's contract.report.recipients")
        if outcome.status != "sent":
            _fail(f"{client.key} {wanted}: not emailed ({outcome.status}) {outcome.error or ''}")
        click.echo(f"emailed to {', '.join(client.contract.report.recipients)}")


@cli.group()
def brief() -> None:
    """Briefs before signing: vague wording, missing acceptance criteria, questions to ask."""


@brief.command("check")
@click.argument("source", required=False, metavar="FILE|-")
@click.option("--issue", "issue_key", default=None, help="Check a synced Jira issue's description.")
@click.option("--json", "as_json", is_flag=True, help="The findings as JSON.")
@click.pass_context
def brief_check(
    ctx: click.Context, source: str | None, issue_key: str | None, as_json: bool
) -> None:
    """Check a brief (text, .docx or .pdf; `-` reads standard input) or an issue's description.

    Lists the vague phrases, whether acceptance criteria are there, and the
    questions to send back, in the brief's language, with a 0-100 clarity
    score. Exits 0 whatever the score, 2 when the input cannot be read. The
    configuration (when there is one) adds its `risk.lexicon` phrases.
    """
    from scopeguard.adapters.document_text import (  # noqa: PLC0415 - only this command reads documents
        UnreadableDocumentError,
        document_text,
    )
    from scopeguard.adapters.lexicons import shipped_lexicon  # noqa: PLC0415
    from scopeguard.adapters.morphology import morphology  # noqa: PLC0415
    from scopeguard.domain.brief import check_brief  # noqa: PLC0415
    from scopeguard.domain.risk.lexicon import PhraseMatcher  # noqa: PLC0415
    from scopeguard.presentation.brief_document import brief_document  # noqa: PLC0415

    if (source is None) == (issue_key is None):
        _fail("give a FILE (or - for standard input) or --issue KEY, one of the two", EXIT_CONFIG)
    settings: Settings | None
    if issue_key is not None:
        settings = _settings(ctx)
        text = _issue_brief(ctx, issue_key)
        where = issue_key
    else:
        obj: dict[str, Any] = ctx.ensure_object(dict)
        # A brief is often checked before any client is configured: the shipped
        # lexicons do without a configuration; one that exists must be valid.
        settings = _settings(ctx) if config_path(obj.get("config_path")).exists() else None
        assert source is not None
        where = "standard input" if source == "-" else source
        try:
            data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        except OSError as error:
            _fail(f"cannot read {where}: {error.strerror}", EXIT_CONFIG)
        try:
            text = document_text(data, where)
        except UnreadableDocumentError as error:
            _fail(str(error), EXIT_CONFIG)
    lexicon = shipped_lexicon()
    min_words = 30
    if settings is not None:
        lexicon = lexicon.extended(settings.risk.lexicon.additions())
        min_words = settings.risk.min_words
    report = check_brief(text, PhraseMatcher(lexicon, morphology()), min_words=min_words)
    document = brief_document(report)
    if as_json:
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    click.echo(format_brief(where, text, document))


def _issue_brief(ctx: click.Context, issue_key: str) -> str:
    """The stored summary and description of an issue, as one brief."""
    from scopeguard.adapters.store.issue_text import stored_brief  # noqa: PLC0415

    services = _services(ctx)
    with services.database.session() as session:
        found = stored_brief(session, issue_key)
    if found is None:
        _fail(f"{issue_key}: no such issue stored (run `scopeguard sync` first)", EXIT_CONFIG)
    if not found.description:
        return found.summary
    return f"{found.summary}\n\n{found.description}"


def format_brief(where: str, text: str, document: BriefDocument) -> str:
    """The brief checker's findings as plain text, each phrase quoted in its line."""
    lines = [
        f"{where}: clarity {document['score']}/100 ({document['language']}, "
        f"{document['words']} words)"
    ]
    criteria = "found" if document["acceptance_criteria"] else "none found"
    lines.append(f"acceptance criteria: {criteria}")
    if document["phrases"]:
        lines.append("phrases:")
        for phrase in document["phrases"]:
            start, end = phrase["start"], phrase["end"]
            context = " ".join(text[max(0, start - 30) : end + 30].split())
            lines.append(f"  [{phrase['kind']}] {phrase['text']!r} at {start}-{end}: …{context}…")
    if document["questions"]:
        lines.append("questions to send back:")
        lines.extend(f"  {n}. {q}" for n, q in enumerate(document["questions"], start=1))
    return "\n".join(lines)


def _client(settings: Settings, key: str) -> ClientSettings:
    """The configured client ``key``; exits with a configuration error naming the others."""
    try:
        return settings.client(key)
    except KeyError:
        configured = ", ".join(c.key for c in settings.clients) or "(none)"
        _fail(f"unknown client {key!r}; configured: {configured}", EXIT_CONFIG)


def _clients(settings: Settings, key: str | None) -> tuple[ClientSettings, ...]:
    """Every configured client, or only ``key`` when given."""
    return settings.clients if key is None else (_client(settings, key),)


# -- people ------------------------------------------------------------------------------


@cli.group()
def users() -> None:
    """Accounts: add, reset a password, change a role, disable, list."""


def _password(from_stdin: bool, generate: bool) -> str:
    if generate:
        password = secrets.token_urlsafe(18)
        click.echo(f"password (shown once): {password}")
        return password
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    entered: str = click.prompt("password", hide_input=True, confirmation_prompt=True)
    return entered


def _role_option(value: str) -> Role:
    try:
        return parse_role(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error


def _client_keys(value: str | None) -> tuple[str, ...]:
    return tuple(key.strip() for key in (value or "").split(",") if key.strip())


_ROLE = click.option(
    "--role", required=True, help="viewer | pm | admin", callback=lambda _c, _p, v: _role_option(v)
)
_CLIENTS = click.option("--clients", default=None, help="A pm's client keys, comma-separated.")
_STDIN = click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
_GENERATE = click.option("--generate", is_flag=True, help="Generate a password and print it once.")


@users.command("add")
@click.argument("username")
@_ROLE
@_CLIENTS
@click.option("--oidc", is_flag=True, help="No password: the person signs in through web.oidc.")
@_STDIN
@_GENERATE
@click.pass_context
def users_add(  # noqa: PLR0917 - click passes options by keyword, each is one flag
    ctx: click.Context,
    username: str,
    role: Role,
    clients: str | None,
    oidc: bool,
    password_stdin: bool,
    generate: bool,
) -> None:
    """Add an account (a local password, or --oidc for single sign-on)."""
    people = _services(ctx).people
    password = None if oidc else _password(password_stdin, generate)
    try:
        people.add(username, role, password=password, clients=_client_keys(clients))
    except PeopleError as error:
        _fail(f"error: {error}", EXIT_CONFIG)
    click.echo(f"added {username} ({role})")


@users.command("reset")
@click.argument("username")
@_STDIN
@_GENERATE
@click.pass_context
def users_reset(ctx: click.Context, username: str, password_stdin: bool, generate: bool) -> None:
    """Set a new password (enables the account again); its sessions end."""
    people = _services(ctx).people
    try:
        people.reset(username, _password(password_stdin, generate))
    except PeopleError as error:
        _fail(f"error: {error}", EXIT_CONFIG)
    click.echo(f"password of {username} reset; their sessions are signed out")


@users.command("role")
@click.argument("username")
@_ROLE
@_CLIENTS
@click.pass_context
def users_role(ctx: click.Context, username: str, role: Role, clients: str | None) -> None:
    """Change an account's role (and a pm's clients); its sessions end."""
    try:
        _services(ctx).people.set_role(username, role, _client_keys(clients))
    except PeopleError as error:
        _fail(f"error: {error}", EXIT_CONFIG)
    click.echo(f"{username} is now {role}")


@users.command("disable")
@click.argument("username")
@click.pass_context
def users_disable(ctx: click.Context, username: str) -> None:
    """Disable an account: its sessions and API tokens stop working at once."""
    try:
        _services(ctx).people.disable(username)
    except PeopleError as error:
        _fail(f"error: {error}", EXIT_CONFIG)
    click.echo(f"{username} disabled; their sessions and tokens no longer work")


@users.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """Every account: username, role, clients, how they sign in, whether disabled."""
    for user in _services(ctx).people.users():
        how = "password" if user.password_hash else "oidc"
        state = "disabled" if user.disabled_at else "active"
        clients = ",".join(user.clients) or "-"
        click.echo(f"{user.username:<32} {user.role:<7} {clients:<20} {how:<9} {state}")


def main() -> None:
    """Console-script entry point.

    A database or disk that refuses (a read-only folder, a full disk, a server that
    is down) is a message and exit 1, never a traceback.
    """
    try:
        cli(prog_name="scopeguard")
    except STORAGE_ERRORS as error:
        _fail(f"error: {describe_storage_error(error)}", EXIT_FAILED)
