"""The ``scopeguard`` command line.

Exit codes: 0 success, 1 a run failed (Jira unreachable, sync error), 2 the
configuration or the command line is wrong.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from scopeguard import __version__
from scopeguard.adapters.store.repository import history_count, issue_count
from scopeguard.bootstrap import Services
from scopeguard.config import ClientSettings, ConfigError, Settings, config_path, load_settings
from scopeguard.domain.figures import ClientFigures
from scopeguard.presentation.documents import BriefDocument
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
        services = Services(_settings(ctx), syncing=syncing)
        if "clock" in obj:
            services.clock = obj["clock"]
        obj["services"] = services
        ctx.call_on_close(services.close)
    result: Services = obj["services"]
    return result


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    """Database maintenance."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply database migrations (also done automatically on start)."""
    services = Services(_settings(ctx), migrate=False)
    try:
        services.database.upgrade()
    finally:
        services.close()
    click.echo("database is up to date")


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
        click.echo(report.line())
    if failed:
        sys.exit(EXIT_FAILED)


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
                f"{history_count(session, client.key):>7} histories"
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
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-scheduler", is_flag=True, help="Do not run the periodic jobs in-process.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, no_scheduler: bool) -> None:
    """Serve the dashboard and API (development server; use gunicorn in production)."""
    from scopeguard.entrypoints.devserver import serve_forever  # noqa: PLC0415 - only this command needs it

    services = _services(ctx, syncing=not no_scheduler)
    click.echo(f"serving http://{host}:{port}/")
    serve_forever(services, host, port, scheduler=not no_scheduler)


@cli.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run the periodic jobs (sync, alert dispatch, monthly reports) until stopped.

    Several workers may run against one database: one holds the scheduler lease
    and runs the jobs, the others stand by and take over if it stops.
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
@click.pass_context
def report(  # noqa: PLR0917 - one parameter per command-line option
    ctx: click.Context,
    client_key: str,
    month: str,
    language: str | None,
    out: str | None,
    store: bool,
    email: bool,
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
    services = _services(ctx)
    settings = services.settings
    client = _client(settings, client_key)
    try:
        wanted = Month.parse(month)
    except ValueError as error:
        _fail(str(error), EXIT_CONFIG)
    now = services.clock()
    try:
        generated = generate_report(services, client, wanted, language=language, now=now)
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
    from scopeguard.presentation.documents import brief_document  # noqa: PLC0415

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


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="scopeguard")
