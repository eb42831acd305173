"""The ``scopeguard`` command line.

Exit codes: 0 success, 1 a run failed (Jira unreachable, sync error), 2 the
configuration or the command line is wrong.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click

from scopeguard import __version__
from scopeguard.config import ConfigError, Settings, load_settings
from scopeguard.jira.sync import SyncError
from scopeguard.services import Services
from scopeguard.store.repository import history_count, issue_count

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


def _services(ctx: click.Context) -> Services:
    obj: dict[str, Any] = ctx.ensure_object(dict)
    if "services" not in obj:
        services = Services(_settings(ctx))
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
    settings = services.settings
    clients = settings.clients
    if client_key is not None:
        try:
            clients = (settings.client(client_key),)
        except KeyError:
            _fail(f"unknown client {client_key!r}; configured: {_keys(settings)}", EXIT_CONFIG)
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
    settings = services.settings
    clients = settings.clients
    if client_key is not None:
        try:
            clients = (settings.client(client_key),)
        except KeyError:
            _fail(f"unknown client {client_key!r}; configured: {_keys(settings)}", EXIT_CONFIG)
    summaries = [services.analysis.snapshot(client).summary for client in clients]
    if as_json:
        body: Any = summaries[0] if client_key is not None else summaries
        click.echo(json.dumps(body, indent=2, ensure_ascii=False))
        return
    click.echo(format_status_table(summaries))


def format_status_table(summaries: list[dict[str, Any]]) -> str:
    """The summaries as a plain-text table, one client per row."""
    header = (
        f"{'client':<10} {'health':<8} {'unit':<13} {'contracted':>10} {'creep':>8} "
        f"{'creep %':>8} {'revisions':>9} {'over':>5} {'reopens':>7} {'overage':>12}"
    )
    lines = [header, "-" * len(header)]
    for summary in summaries:
        scope = summary["scope"]
        revisions = summary["revisions"]
        overage = summary["overage"]
        percent = scope["creep_percent"]
        lines.append(
            f"{summary['client']:<10} {summary['health']:<8} {scope['unit']:<13} "
            f"{scope['contracted']:>10g} {scope['creep']:>8g} "
            f"{'-' if percent is None else f'{percent:.1f}':>8} {revisions['total']:>9} "
            f"{len(revisions['over_limit']):>5} {summary['reopens']['total']:>7} "
            f"{overage['amount']:>8.2f} {overage['currency']}"
        )
    return "\n".join(lines)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-scheduler", is_flag=True, help="Do not run the periodic jobs in-process.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, no_scheduler: bool) -> None:
    """Serve the dashboard and API (development server; use gunicorn in production)."""
    from scopeguard.serving import serve_forever  # noqa: PLC0415 - only this command needs it

    services = _services(ctx)
    click.echo(f"serving http://{host}:{port}/")
    serve_forever(services, host, port, scheduler=not no_scheduler)


def _keys(settings: Settings) -> str:
    return ", ".join(c.key for c in settings.clients) or "(none)"


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="scopeguard")
