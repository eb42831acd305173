"""The client-risk keys of the configuration: validated, and turned into the engine's types."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from scopeguard.config import ConfigError, Settings, parse_settings
from scopeguard.domain.risk.lexicon import LexiconKind
from scopeguard.domain.risk.people import Directory, Side
from scopeguard.domain.risk.signals import SignalName

MOSCOW = ZoneInfo("Europe/Moscow")


def settings(**sections: Any) -> Settings:
    client: dict[str, Any] = {
        "key": "ACME",
        "name": "ACME",
        "jql": "project = ACME",
        "contract": {"start": "2026-09-01", "scope": {"issues": 10}, "revisions_per_issue": 2},
    }
    client.update(sections.pop("client", {}))
    document = {
        "jira": {
            "url": "https://agency.atlassian.net",
            "email": "a@agency.example",
            "api_token": "t",
        },
        "agency": {"timezone": "Europe/Moscow", **sections.pop("agency", {})},
        "clients": [client],
        **sections,
    }
    return parse_settings(yaml.safe_dump(document), env={})


def test_people_lists_take_accounts_emails_groups_and_periods() -> None:
    loaded = settings(
        agency={
            "team": [
                "712020:paula",
                "dmitri@agency.example",
                "group:Designers",
                {"account": "712020:ivan", "until": "2026-10-01"},
            ]
        },
        client={"client_users": ["boss@acme.example"], "pm": "712020:paula"},
        risk={"ignore": ["557058:automation"]},
    )
    client = loaded.clients[0]
    directory = Directory(
        emails={"712020:dmitri": "dmitri@agency.example", "712020:boss": "boss@acme.example"},
        groups={"designers": frozenset({"712020:olga"})},
    )
    sides = loaded.client_people(client, directory).sides
    october = datetime(2026, 10, 15, 12, tzinfo=MOSCOW)
    september = datetime(2026, 9, 15, 12, tzinfo=MOSCOW)
    assert sides.side("712020:paula", october) is Side.AGENCY
    assert sides.side("712020:dmitri", october) is Side.AGENCY
    assert sides.side("712020:olga", october) is Side.AGENCY
    assert sides.side("712020:boss", october) is Side.CLIENT
    assert sides.side("712020:ivan", september) is Side.AGENCY
    assert sides.side("712020:ivan", october) is Side.CLIENT  # left on 1 October (Moscow)
    assert sides.side("557058:automation", october) is Side.NONE
    [pm] = loaded.client_people(client).pm
    assert pm.account == "712020:paula" and pm.since is None


def test_the_pm_may_change_over_time() -> None:
    loaded = settings(
        client={
            "pm": [
                {"account": "712020:paula", "until": "2026-10-01"},
                {"account": "712020:dmitri", "since": "2026-10-01"},
            ]
        }
    )
    first, second = loaded.client_people(loaded.clients[0]).pm
    assert first.until == second.since == datetime(2026, 10, 1, tzinfo=MOSCOW)


def test_the_risk_section_becomes_the_policy_on_the_agencys_hours() -> None:
    loaded = settings(
        agency={
            "working_hours": {
                "days": ["mon", "tue", "wed", "thu"],
                "start": "10:00",
                "end": "18:00",
            }
        },
        risk={
            "window_weeks": 6,
            "alert_score": 80,
            "weights": {"off_hours": 3, "neglect": 0},
            "late_night": {"start": "23:00", "end": "06:00"},
            "priorities": [["P0", "Blocker"], "P1", "P2"],
            "lexicon": {"vague": ["make it sing"], "pm_change": ["new account lead"]},
        },
    )
    policy = loaded.risk_policy()
    assert policy.window_weeks == 6 and policy.alert_score == 80
    assert policy.weight(SignalName.OFF_HOURS) == 3.0
    assert policy.weight(SignalName.NEGLECT) == 0.0
    assert policy.working.days == frozenset({0, 1, 2, 3})
    assert (policy.working.start, policy.working.end) == (time(10), time(18))
    assert policy.working.late_start == time(23)
    assert policy.priorities.is_top("blocker") and policy.priorities.raised("P2", "P1")
    additions = loaded.risk.lexicon.additions()
    assert additions[LexiconKind.VAGUE] == ("make it sing",)
    assert additions[LexiconKind.PM_CHANGE] == ("new account lead",)


@pytest.mark.parametrize(
    ("sections", "problem"),
    [
        ({"agency": {"team": [{"account": "a", "email": "b@c.de"}]}}, "agency.team[0]"),
        ({"agency": {"team": [{"email": "not-an-email"}]}}, "is not an email address"),
        (
            {"agency": {"team": [{"account": "a", "since": "2026-10-02", "until": "2026-10-01"}]}},
            "`until` must be after",
        ),
        ({"risk": {"elevated_score": 80, "alert_score": 70}}, "must not be above"),
        ({"risk": {"weights": {"responsiveness": 0, "neglect": 0}}}, "agency-side signal a weight"),
        ({"risk": {"weights": {"offhours": 1}}}, "risk.weights.offhours"),
        ({"risk": {"window_weeks": 0}}, "risk.window_weeks"),
        ({"risk": {"late_night": {"start": "22:00", "end": "22:00"}}}, "must differ"),
        ({"client": {"pm": "x", "client_users": ["x"]}}, "also listed in client_users"),
    ],
)
def test_mistakes_in_the_risk_keys_are_reported_by_key(
    sections: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(**sections)
    assert problem in str(raised.value)
