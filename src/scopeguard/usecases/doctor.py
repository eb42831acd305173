"""``scopeguard doctor``: is ScopeGuard's Jira access complete? One line per check.

Connectivity, authentication, each permission the sync uses (search, changelogs,
worklogs, comments, groups, statuses, fields) and every client's JQL (its issue
count). A failed check names the configuration key to fix; the panel's status
page shows the same checks (``/admin/jira``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from scopeguard.adapters.jira.doctor import Probes
from scopeguard.adapters.jira.errors import JiraAuthError, JiraError, JiraRequestError
from scopeguard.adapters.jira.transport import JiraTransport
from scopeguard.config import Settings

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Check:
    """One check's outcome."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None
    """The configuration key to look at when it failed."""
    skipped: bool = False

    def line(self) -> str:
        """``ok    search: …`` / ``FAIL  search: … (fix: jira.api_token)``."""
        mark = "skip" if self.skipped else "ok  " if self.ok else "FAIL"
        fix = f" (fix: {self.fix})" if self.fix and not self.ok else ""
        return f"{mark}  {self.name}: {self.detail}{fix}"


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """Every check, in order."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """No check failed."""
        return all(check.ok for check in self.checks)


def _credential_key(settings: Settings) -> str:
    jira = settings.jira
    if jira.pat and not (jira.email and jira.api_token):
        return "jira.pat"
    return "jira.api_token"


def _failure(name: str, error: Exception, default_key: str) -> Check:
    key = default_key
    if isinstance(error, JiraAuthError) and error.config_keys:
        key = " / ".join(error.config_keys)
    return Check(name, False, str(error), key)


def diagnose(settings: Settings, transport: JiraTransport) -> Diagnosis:
    """Run every check against the site (about a dozen small requests)."""
    probes = Probes(transport)
    checks: list[Check] = []
    credential = _credential_key(settings)

    def attempt(
        name: str, call: Callable[[], T], describe: Callable[[T], str], key: str
    ) -> T | None:
        try:
            value = call()
        except (JiraError, ValueError, KeyError, TypeError) as exc:
            checks.append(_failure(name, exc, key))
            return None
        checks.append(Check(name, True, describe(value)))
        return value

    server = attempt(
        "connectivity",
        probes.server,
        lambda v: f"{v} answers at {transport.base_url}",
        "jira.url" if not settings.jira.scoped_token else "jira.cloud_id / jira.gateway_url",
    )
    if server is None:
        return Diagnosis(tuple(checks))
    me = attempt("authentication", probes.myself, lambda v: f"signed in as {v}", credential)
    if me is None:
        return Diagnosis(tuple(checks))
    attempt("statuses", probes.statuses, lambda n: f"{n} statuses", credential)
    attempt("fields", probes.fields, lambda n: f"{n} fields", credential)
    sample: str | None = None
    for index, client in enumerate(settings.clients):
        found = attempt(
            "search",
            partial(probes.first_issue, client.jql),
            partial(_found, client.key),
            f"clients[{index}].jql",
        )
        if found:
            sample = found
            break
    if not settings.clients:
        checks.append(Check("search", True, "no client configured", skipped=True))
    if sample is None:
        for name in ("changelogs", "comments"):
            checks.append(Check(name, True, "no issue to try them on", skipped=True))
        attempt("worklogs", lambda: probes.worklogs(None), str, credential)
    else:
        attempt("changelogs", partial(probes.changelog, sample), lambda _n: "complete", credential)
        attempt("worklogs", partial(probes.worklogs, sample), str, credential)
        attempt(
            "comments",
            partial(probes.comments, sample),
            lambda n: f"{n} on the issue tried",
            credential,
        )
    groups = list(_groups(settings))
    if not groups:
        checks.append(Check("groups", True, "no group in the configuration", skipped=True))
    for group, key in groups:
        attempt(
            f"group {group}",
            partial(probes.group, group),
            lambda n: f"{n} members",
            f"{key} (or the token's group scopes: {credential})",
        )
    for index, client in enumerate(settings.clients):
        _client_count(checks, probes, index, client.key, client.jql)
    return Diagnosis(tuple(checks))


def _found(key: str, issue_id: str | None) -> str:
    return f"{key}'s JQL finds issues" if issue_id else f"{key}'s JQL finds no issue"


def _client_count(checks: list[Check], probes: Probes, index: int, key: str, jql: str) -> None:
    try:
        count = probes.count(jql)
    except JiraRequestError as exc:
        checks.append(Check(f"client {key}", False, str(exc), f"clients[{index}].jql"))
        return
    except JiraError as exc:
        checks.append(_failure(f"client {key}", exc, f"clients[{index}].jql"))
        return
    if count == 0:
        checks.append(
            Check(f"client {key}", False, f"`{jql}` finds no issue", f"clients[{index}].jql")
        )
    else:
        checks.append(Check(f"client {key}", True, f"`{jql}`: {count} issues"))


def _groups(settings: Settings) -> Iterator[tuple[str, str]]:
    """The Jira groups the configuration names, with the key that names them."""
    seen: set[str] = set()
    for index, person in enumerate(settings.agency.team):
        if person.group and person.group not in seen:
            seen.add(person.group)
            yield person.group, f"agency.team[{index}]"
    for index, client in enumerate(settings.clients):
        for group in client.contract.rate_groups:
            if group not in seen:
                seen.add(group)
                yield group, f"clients[{index}].contract.rates"
