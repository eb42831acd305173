"""The metrics engine, one definition at a time, with the traps real Jira data sets.

Scenarios are built by name with :class:`IssueBuilder`: an issue is created, then
walked through its history (``.to("Client Review", at)``, ``.add_label(...)``),
and the builder writes the change items Jira would have written.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime

import msgspec
import pytest

from scopeguard.adapters.store.facts_codec import decode_facts, encode_facts
from scopeguard.domain.contract import ScopeUnit, WorkflowRules
from scopeguard.domain.figures import ClientFigures, SyncStatus
from scopeguard.domain.history import StatusIndex
from scopeguard.domain.keys import natural_key
from scopeguard.domain.metrics import (
    FACTS_SCHEMA_VERSION,
    Health,
    RemovalReason,
    ReopenFigures,
    RevisionFigures,
    ScopeFigures,
    UnitFigures,
    assess_health,
    facts_fingerprint,
    issue_evidence,
    issue_facts,
    summarize,
)
from scopeguard.domain.model import ChangeItem, Status
from scopeguard.domain.timeparse import parse_jira_datetime
from scopeguard.domain.timeseries import DailySeries
from scopeguard.presentation.documents import summary_document
from tests.support.issues import (
    CONTRACT,
    DONE,
    MSK,
    NEW,
    RULES,
    STATUSES,
    WIP,
    IssueBuilder,
    facts_of,
    make_contract,
    msk,
    reviewed_and_sent_back,
    summary_of,
)

# --- baseline and added scope -------------------------------------------------------


def test_issues_created_before_the_baseline_are_baseline_scope() -> None:
    summary = summary_of(
        IssueBuilder("ACME-1", "2026-08-10 10:00"),
        IssueBuilder("ACME-2", "2026-07-01 10:00"),  # before the contract even started
    )
    assert summary.scope.baseline_issues == 2
    assert summary.scope.added == ()
    assert summary.scope.creep == 0
    assert summary.scope.creep_percent == 0.0


def test_issue_created_half_past_midnight_moscow_on_baseline_day_is_added() -> None:
    # Jira writes the author's offset; 00:30 +03:00 is still 31 August in UTC,
    # but the baseline is 1 September 00:00 Moscow, so it was created after it.
    created = parse_jira_datetime("2026-09-01T00:30:00.000+0300")
    assert created.astimezone(UTC).date() == date(2026, 8, 31)
    late = IssueBuilder("ACME-2", "2026-09-01T00:30:00+03:00")
    utc_author = IssueBuilder("ACME-3", "2026-08-31T22:30:00+00:00")  # 01:30 in Moscow
    before = IssueBuilder("ACME-1", "2026-08-31T23:59:00+03:00")

    assert facts_of(late).added_at == created
    assert facts_of(before).added_at is None
    summary = summary_of(before, late, utc_author)
    assert summary.scope.added == ("ACME-2", "ACME-3")
    assert summary.scope.baseline_issues == 1


def test_created_exactly_at_the_baseline_is_added() -> None:
    assert facts_of(IssueBuilder("ACME-1", "2026-09-01 00:00")).added_at == msk("2026-09-01 00:00")


def test_unapproved_added_issues_are_creep_in_percent_of_the_contract() -> None:
    added = [IssueBuilder(f"ACME-{n}", "2026-09-05 10:00") for n in (1, 2, 3)]
    summary = summary_of(*added)
    assert summary.scope.unit is ScopeUnit.ISSUES
    assert summary.scope.added == ("ACME-1", "ACME-2", "ACME-3")
    assert summary.scope.creep == 3
    assert summary.scope.creep_percent == 15.0  # 3 of 20 contracted issues
    third = summary_of(added[0], contract=make_contract(scope={ScopeUnit.ISSUES: 30.0}))
    assert third.scope.creep_percent == 3.3  # rounded to one decimal


def test_issues_are_not_in_scope_before_they_exist() -> None:
    summary = summary_of(IssueBuilder("ACME-1", "2026-09-20 10:00"), as_of="2026-09-10 12:00")
    assert summary.scope.added == ()
    assert summary.scope.baseline_issues == 0


# --- approved change requests -----------------------------------------------------


def test_added_issue_with_change_request_label_is_approved_not_creep() -> None:
    summary = summary_of(
        IssueBuilder("ACME-1", "2026-09-05 10:00").labelled("Change-Request"),  # any case
        IssueBuilder("ACME-2", "2026-09-05 11:00"),
    )
    assert summary.scope.approved_changes == ("ACME-1",)
    assert summary.scope.added == ("ACME-2",)
    assert summary.scope.by_unit[ScopeUnit.ISSUES].approved == 1
    assert summary.scope.creep == 1


def test_added_issue_of_a_change_request_type_is_approved() -> None:
    contract = make_contract(change_request_issue_types=("Change Request",))
    summary = summary_of(
        IssueBuilder("ACME-1", "2026-09-05 10:00").typed("Change Request"),
        IssueBuilder("ACME-2", "2026-09-05 10:00").typed("Task"),
        contract=contract,
    )
    assert summary.scope.approved_changes == ("ACME-1",)
    assert summary.scope.added == ("ACME-2",)


def test_issue_retyped_to_change_request_is_approved_from_then() -> None:
    contract = make_contract(change_request_issue_types=("Change Request",))
    builder = (
        IssueBuilder("ACME-1", "2026-09-05 10:00")
        .typed("Change Request")
        .item("2026-09-12 10:00", "issuetype", "Task", "Change Request", field_id="issuetype")
    )
    assert facts_of(builder, contract).approved_at == msk("2026-09-12 10:00")


def test_change_request_label_added_later_turns_creep_into_approved_scope() -> None:
    builder = IssueBuilder("ACME-5", "2026-09-05 10:00").add_label(
        "change-request", "2026-09-20 15:00"
    )
    facts = facts_of(builder)
    assert facts.approved and facts.approved_at == msk("2026-09-20 15:00")
    assert summary_of(builder, as_of="2026-09-10 12:00").scope.added == ("ACME-5",)
    later = summary_of(builder, as_of="2026-09-25 12:00")
    assert later.scope.added == ()
    assert later.scope.approved_changes == ("ACME-5",)


def test_change_request_label_added_at_any_time_counts_even_if_removed_again() -> None:
    builder = (
        IssueBuilder("ACME-6", "2026-09-05 10:00")
        .labelled("frontend")
        .add_label("change-request", "2026-09-20 15:00")
        .remove_label("change-request", "2026-09-22 15:00")
    )
    summary = summary_of(builder, as_of="2026-09-25 12:00")
    assert summary.scope.approved_changes == ("ACME-6",)
    assert summary.scope.creep == 0


def test_change_request_label_on_a_baseline_issue_changes_nothing() -> None:
    summary = summary_of(IssueBuilder("ACME-1", "2026-08-10 10:00").labelled("change-request"))
    assert summary.scope.baseline_issues == 1
    assert summary.scope.approved_changes == ()


def test_no_change_request_label_configured_means_labels_do_not_approve() -> None:
    summary = summary_of(
        IssueBuilder("ACME-1", "2026-09-05 10:00").labelled("change-request"),
        contract=make_contract(change_request_label=None),
    )
    assert summary.scope.added == ("ACME-1",)


# --- moved in, scope labels ---------------------------------------------------------


def test_issue_moved_into_the_project_after_the_baseline_is_added_at_the_move() -> None:
    builder = (
        IssueBuilder("ACME-12", "2026-08-10 10:00", status="Done")
        # The move remaps the status in the same history: Jira's bookkeeping, no reopen.
        .moved_from("OTHER-5", "2026-09-10 12:00", new_status="To Do")
    )
    facts = facts_of(builder)
    assert facts.added_at == msk("2026-09-10 12:00")
    assert facts.revisions == ()
    assert summary_of(builder).scope.added == ("ACME-12",)


def test_issue_moved_in_before_the_baseline_is_baseline_scope() -> None:
    builder = IssueBuilder("ACME-13", "2026-08-05 10:00").moved_from("OTHER-1", "2026-08-20 10:00")
    assert facts_of(builder).added_at is None


def test_issue_born_in_the_project_and_moved_back_keeps_its_creation_date() -> None:
    builder = (
        IssueBuilder("ACME-14", "2026-08-05 10:00")
        .item("2026-09-05 10:00", "Key", "ACME-3", "OTHER-9", history_id="500")
        .item("2026-09-06 10:00", "Key", "OTHER-9", "ACME-14", history_id="501")
    )
    assert facts_of(builder).added_at is None


def test_moves_between_the_clients_own_projects_are_not_added_scope() -> None:
    builder = IssueBuilder("WEB-1", "2026-08-05 10:00").moved_from("ACME-5", "2026-09-05 10:00")
    assert facts_of(builder, project_keys=("ACME", "WEB")).added_at is None
    assert facts_of(builder).added_at == msk("2026-09-05 10:00")  # only WEB is the client's


def test_revisions_before_the_issue_entered_the_clients_scope_are_not_counted() -> None:
    builder = (
        IssueBuilder("ACME-15", "2026-08-05 10:00", status="Client Review")
        .to("In Progress", "2026-09-03 10:00")  # still in the other project
        .moved_from("OTHER-2", "2026-09-04 10:00")
        .to("Client Review", "2026-09-05 10:00")
        .to("In Progress", "2026-09-06 10:00")
    )
    assert [r.at for r in facts_of(builder).revisions] == [msk("2026-09-06 10:00")]


def test_scope_label_added_after_the_baseline_counts_as_added_from_then() -> None:
    from_start = IssueBuilder("ACME-1", "2026-08-10 10:00").labelled("acme")
    later = IssueBuilder("ACME-2", "2026-08-10 10:00").add_label("acme", "2026-09-15 09:00")
    assert facts_of(from_start, scope_label="acme").added_at is None
    assert facts_of(later, scope_label="acme").added_at == msk("2026-09-15 09:00")
    assert facts_of(later).added_at is None  # without a scope label, labels are not scope
    summary = summary_of(from_start, later, scope_label="acme")
    assert summary.scope.added == ("ACME-2",)
    assert summary.scope.baseline_issues == 1


# --- removed scope ------------------------------------------------------------------


def test_cancelled_after_the_baseline_is_removed_and_never_netted_off_creep() -> None:
    cancelled = IssueBuilder("ACME-20", "2026-08-10 10:00").resolve("Won't Do", "2026-09-15 10:00")
    creep = IssueBuilder("ACME-21", "2026-09-05 10:00")
    summary = summary_of(cancelled, creep)
    assert summary.scope.removed == ("ACME-20",)
    assert summary.scope.baseline_issues == 2 - 1  # ACME-21 is added, not baseline
    assert summary.scope.creep == 1  # the removal does not offset the addition
    facts = facts_of(cancelled)
    assert facts.removal_reason is RemovalReason.CANCELLED
    assert facts.removed_at == msk("2026-09-15 10:00")


def test_cancelled_resolution_names_compare_case_insensitively() -> None:
    builder = IssueBuilder("ACME-1", "2026-08-10 10:00").resolve("WON'T DO", "2026-09-15 10:00")
    assert summary_of(builder).scope.removed == ("ACME-1",)
    rules = WorkflowRules(cancelled_resolutions=("Отменено",))
    russian = IssueBuilder("ACME-2", "2026-08-10 10:00").resolve("отменено", "2026-09-15 10:00")
    assert summary_of(russian, rules=rules).scope.removed == ("ACME-2",)


def test_done_resolution_is_not_a_removal() -> None:
    builder = IssueBuilder("ACME-1", "2026-08-10 10:00").resolve("Done", "2026-09-15 10:00")
    assert summary_of(builder).scope.removed == ()


def test_cancellation_undone_later_is_not_a_removal() -> None:
    builder = (
        IssueBuilder("ACME-1", "2026-08-10 10:00")
        .resolve("Won't Do", "2026-09-15 10:00")
        .resolve(None, "2026-09-16 10:00", status="In Progress")
    )
    assert summary_of(builder).scope.removed == ()


def test_deleted_or_moved_out_issue_is_removed_from_the_day_the_sync_saw_it_gone() -> None:
    builder = IssueBuilder("ACME-22", "2026-08-10 10:00").removed("2026-09-20 08:00")
    facts = facts_of(builder)
    assert facts.removal_reason is RemovalReason.GONE
    assert summary_of(builder, as_of="2026-09-19 12:00").scope.removed == ()
    assert summary_of(builder, as_of="2026-09-21 12:00").scope.removed == ("ACME-22",)


def test_cancelled_before_the_baseline_was_never_contracted_nor_removed() -> None:
    builder = IssueBuilder("ACME-23", "2026-08-10 10:00").resolve("Won't Do", "2026-08-20 10:00")
    summary = summary_of(builder)
    assert summary.scope.baseline_issues == 0
    assert summary.scope.removed == ()
    assert summary_of(builder, as_of="2026-08-15 12:00").scope.baseline_issues == 1


def test_added_issue_cancelled_later_stays_creep_and_is_listed_as_removed() -> None:
    builder = IssueBuilder("ACME-24", "2026-09-05 10:00").resolve("Cancelled", "2026-09-10 10:00")
    summary = summary_of(builder)
    assert summary.scope.added == ("ACME-24",)
    assert summary.scope.removed == ("ACME-24",)
    assert summary.scope.creep == 1


# --- estimate inflation -------------------------------------------------------------

POINTS_CONTRACT = make_contract(
    scope={ScopeUnit.STORY_POINTS: 100.0, ScopeUnit.HOURS: 200.0},
)


def inflating_issue() -> IssueBuilder:
    return (
        IssueBuilder("ACME-30", "2026-08-10 10:00")
        .points(2)
        .set_points(3, "2026-08-20 10:00")  # before the baseline: part of the baseline
        .set_points(5, "2026-09-10 10:00")  # +2
        .set_points(4, "2026-09-20 10:00")  # net +1
        .set_points(1, "2026-09-25 10:00")  # net -2: inflation never below zero
        .set_points(6, "2026-09-28 10:00")  # net +3
    )


@pytest.mark.parametrize(
    ("as_of", "inflation"),
    [
        ("2026-09-05 12:00", 0.0),
        ("2026-09-15 12:00", 2.0),
        ("2026-09-21 12:00", 1.0),
        ("2026-09-26 12:00", 0.0),
        ("2026-09-29 12:00", 3.0),
    ],
)
def test_story_point_inflation_is_net_growth_never_below_zero(as_of: str, inflation: float) -> None:
    summary = summary_of(inflating_issue(), as_of=as_of, contract=POINTS_CONTRACT)
    points = summary.scope.by_unit[ScopeUnit.STORY_POINTS]
    assert points.inflation == inflation
    assert points.creep == inflation
    assert summary.scope.unit is ScopeUnit.STORY_POINTS
    assert summary.scope.creep == inflation
    assert summary.scope.added == ()  # inflation makes no issue "added"


def test_original_estimate_growth_is_hours_inflation() -> None:
    builder = (
        IssueBuilder("ACME-31", "2026-08-10 10:00")
        .estimate_hours(2)
        .set_estimate_hours(4, "2026-09-10 10:00")
    )
    hours = summary_of(builder, contract=POINTS_CONTRACT).scope.by_unit[ScopeUnit.HOURS]
    assert hours.inflation == 2.0
    assert hours.creep_percent == 1.0  # 2 of 200 hours


def test_story_points_are_read_by_configured_field_id_or_by_name() -> None:
    by_id = (
        IssueBuilder("ACME-1", "2026-08-10 10:00")
        .points(1)
        .set_points(4, "2026-09-10 10:00", field="Estimate", field_id="customfield_10016")
    )
    by_name = (
        IssueBuilder("ACME-2", "2026-08-10 10:00")
        .points(1)
        .set_points(3, "2026-09-10 10:00", field="Story point estimate")
    )
    summary = summary_of(
        by_id, by_name, contract=POINTS_CONTRACT, story_points_field_id="customfield_10016"
    )
    assert summary.scope.by_unit[ScopeUnit.STORY_POINTS].inflation == 5.0
    # Without the id the renamed field is just some field.
    assert facts_of(by_id).estimate_events == ()


def test_a_second_story_point_field_is_not_counted_twice() -> None:
    builder = (
        IssueBuilder("ACME-1", "2026-08-10 10:00")
        .points(1)
        .set_points(
            3, "2026-09-10 10:00", field="Story point estimate", field_id="customfield_10016"
        )
        .item("2026-09-10 10:00", "Story Points", "1", "3", field_id="customfield_10026")
    )
    facts = facts_of(builder, story_points_field_id="customfield_10016")
    assert [e.delta for e in facts.estimate_events] == [2.0]


def test_estimate_changes_of_added_issues_change_their_size_not_inflation() -> None:
    builder = (
        IssueBuilder("ACME-32", "2026-09-05 10:00").points(3).set_points(8, "2026-09-10 10:00")
    )
    points = summary_of(builder, contract=POINTS_CONTRACT).scope.by_unit[ScopeUnit.STORY_POINTS]
    assert points.added == 8.0
    assert points.inflation == 0.0
    assert points.creep == 8.0
    early = summary_of(builder, contract=POINTS_CONTRACT, as_of="2026-09-06 10:00")
    assert early.scope.by_unit[ScopeUnit.STORY_POINTS].added == 3.0


def test_approved_change_requests_are_measured_in_every_unit() -> None:
    builder = IssueBuilder("ACME-33", "2026-09-05 10:00").points(5).estimate_hours(12)
    builder.labelled("change-request")
    by_unit = summary_of(builder, contract=POINTS_CONTRACT).scope.by_unit
    assert by_unit[ScopeUnit.STORY_POINTS].approved == 5.0
    assert by_unit[ScopeUnit.HOURS].approved == 12.0
    assert by_unit[ScopeUnit.STORY_POINTS].creep == 0.0


# --- revisions and reopens ----------------------------------------------------------


def revisions_of(
    builder: IssueBuilder, rules: WorkflowRules = RULES
) -> list[tuple[str, str, bool]]:
    return [
        (r.from_status, r.to_status, r.is_reopen) for r in facts_of(builder, rules=rules).revisions
    ]


def test_out_of_review_back_to_work_is_a_revision_but_review_to_done_is_not() -> None:
    builder = (
        IssueBuilder("ACME-40", "2026-08-10 10:00")
        .to("In Progress", "2026-09-02 10:00")
        .to("Client Review", "2026-09-03 10:00")
        .to("In Progress", "2026-09-04 10:00")  # revision
        .to("To Do", "2026-09-04 11:00")  # not from review: no
        .to("Client Review", "2026-09-05 10:00")
        .to("Internal Review", "2026-09-05 11:00")  # into another review status: no
        .to("Done", "2026-09-06 10:00")  # accepted: no
    )
    assert revisions_of(builder) == [("Client Review", "In Progress", False)]


def test_done_category_back_to_work_is_a_reopen() -> None:
    builder = (
        IssueBuilder("ACME-41", "2026-08-10 10:00", status="Done")
        .to("In Progress", "2026-09-02 10:00")
        .to("Contributed", "2026-09-03 10:00")  # a done-category status with an odd name
        .to("To Do", "2026-09-04 10:00")
    )
    assert revisions_of(builder) == [
        ("Done", "In Progress", True),
        ("Contributed", "To Do", True),
    ]
    summary = summary_of(builder)
    assert summary.reopens.total == 2
    assert summary.reopens.by_issue == {"ACME-41": 2}


def test_cyrillic_done_category_status_is_done_by_category() -> None:
    builder = (
        IssueBuilder("ACME-42", "2026-08-10 10:00", status="Принято клиентом")
        .to("In Progress", "2026-09-02 10:00")
        .to("Принято клиентом", "2026-09-03 10:00")
        .to("In Progress", "2026-09-04 10:00", ids=False)  # old data: names only
    )
    assert revisions_of(builder) == [
        ("Принято клиентом", "In Progress", True),
        ("Принято клиентом", "In Progress", True),
    ]


def test_done_to_done_is_neither_revision_nor_reopen() -> None:
    builder = (
        IssueBuilder("ACME-43", "2026-08-10 10:00", status="Accepted")
        .to("Closed", "2026-09-02 10:00")
        .to("Принято клиентом", "2026-09-03 10:00")
    )
    assert revisions_of(builder) == []


def test_categories_are_never_guessed_from_names() -> None:
    # Neither the id nor the name is a status of the site: its category is unknown,
    # however done the name sounds.
    unknown = IssueBuilder("ACME-44", "2026-08-10 10:00").item(
        "2026-09-02 10:00",
        "status",
        "Done (old workflow)",
        "In Progress",
        field_id="status",
        from_id="999",
        to_id="3",
    )
    dev_done = IssueBuilder("ACME-45", "2026-08-10 10:00", status="Dev Done").to(
        "In Progress", "2026-09-02 10:00"
    )  # "Done", yet in progress
    into_unknown = IssueBuilder("ACME-46", "2026-08-10 10:00", status="Client Review").item(
        "2026-09-02 10:00", "status", "Client Review", "Limbo", from_id="10", to_id="998"
    )
    assert revisions_of(unknown) == []
    assert revisions_of(dev_done) == []
    assert revisions_of(into_unknown) == []


def test_unknown_id_falls_back_to_the_status_name() -> None:
    builder = IssueBuilder("ACME-47", "2026-08-10 10:00").item(
        "2026-09-02 10:00", "status", "Accepted", "To Do", from_id="77", to_id="78"
    )
    assert revisions_of(builder) == [("Accepted", "To Do", True)]


def test_a_name_shared_by_statuses_of_different_categories_stays_unknown() -> None:
    index = StatusIndex(
        {
            "1": Status("1", "Ready", NEW),
            "2": Status("2", "ready", DONE),  # a team-managed project reused the name
            "3": Status("3", "Built", DONE),
        }
    )
    assert index.category(None, "Ready") is None
    assert index.category("2", "Ready") is DONE  # the id decides when it is known
    assert index.category(None, "built") is DONE


def test_status_index_judges_single_status_changes() -> None:
    index = StatusIndex(STATUSES)
    reopen = ChangeItem("1", msk("2026-09-02 10:00"), "status", "status", "23", None, "3", None)
    assert index.revision(reopen, RULES) == (True, "Принято клиентом", "In Progress")
    accepted = msgspec.structs.replace(reopen, from_id="10", to_id="21")
    assert index.revision(accepted, RULES) is None


def test_client_with_a_differently_named_review_status() -> None:
    rules = WorkflowRules(review_statuses=("Awaiting Sign-off",))
    builder = (
        IssueBuilder("ACME-48", "2026-08-10 10:00")
        .to("Awaiting Sign-off", "2026-09-02 10:00")
        .to("In Progress", "2026-09-03 10:00")  # revision under these rules
        .to("Client Review", "2026-09-04 10:00")
        .to("In Progress", "2026-09-05 10:00")  # "Client Review" is not theirs
    )
    assert revisions_of(builder, rules) == [("Awaiting Sign-off", "In Progress", False)]
    assert len(revisions_of(builder)) == 1  # default rules: only names containing "review"


def test_review_status_renamed_since_the_change_still_counts() -> None:
    rules = WorkflowRules(review_statuses=("awaiting sign-off",))
    builder = IssueBuilder("ACME-49", "2026-08-10 10:00").item(
        "2026-09-03 10:00", "status", "Sign-off (old name)", "In Progress", from_id="11", to_id="3"
    )
    assert revisions_of(builder, rules) == [("Sign-off (old name)", "In Progress", False)]


def test_issue_with_more_than_100_histories_whose_revisions_are_the_oldest() -> None:
    builder = reviewed_and_sent_back("ACME-50", 3)
    for n in range(130):
        builder.item(f"2026-10-{1 + n // 24:02d} {n % 24:02d}:15", "Rank", None, "Ranked higher")
    issue = builder.build()
    assert len({c.history_id for c in issue.changes}) > 100
    assert len(facts_of(issue).revisions) == 3
    # Delivered newest first (as Jira Cloud pages them) the answer is the same.
    shuffled = replace(issue, changes=tuple(reversed(issue.changes)))
    assert facts_of(shuffled) == facts_of(issue)


def test_only_revisions_in_the_contract_period_and_up_to_as_of_count() -> None:
    builder = (
        IssueBuilder("ACME-51", "2026-07-01 10:00")
        .to("Client Review", "2026-07-10 10:00")
        .to("In Progress", "2026-07-11 10:00")  # before the contract started
        .to("Client Review", "2026-09-10 10:00")
        .to("In Progress", "2026-09-11 10:00")
        .to("Client Review", "2026-10-10 10:00")
        .to("In Progress", "2026-10-11 10:00")
    )
    assert summary_of(builder, as_of="2026-10-01 00:00").revisions.by_issue == {"ACME-51": 1}
    assert summary_of(builder, as_of="2026-10-20 00:00").revisions.by_issue == {"ACME-51": 2}


def test_issues_over_their_revision_allowance() -> None:
    summary = summary_of(
        reviewed_and_sent_back("ACME-2", 3),
        reviewed_and_sent_back("ACME-10", 2),
        IssueBuilder("ACME-3", "2026-08-10 10:00"),
    )
    assert summary.revisions.total == 5
    assert summary.revisions.by_issue == {"ACME-2": 3, "ACME-10": 2}
    assert list(summary.revisions.by_issue) == ["ACME-2", "ACME-10"]
    assert summary.revisions.over_limit == ("ACME-2",)
    assert summary.revisions.per_issue_limit == 2


def test_evidence_lists_each_round_with_author_and_statuses() -> None:
    builder = (
        IssueBuilder("ACME-52", "2026-08-10 10:00", status="Client Review")
        .to("In Progress", "2026-09-02 10:00", by="Carla Client")
        .to("Client Review", "2026-09-03 10:00", by="Dev Dmitry")
        .to("In Progress", "2026-09-04 10:00", by="Carla Client")
        .to("Done", "2026-09-05 10:00")
        .to("To Do", "2026-09-06 10:00", by="Pavel PM")
    )
    rounds = issue_evidence(facts_of(builder), allowance=2)
    assert [(r.number, r.author, r.from_status, r.to_status) for r in rounds] == [
        (1, "Carla Client", "Client Review", "In Progress"),
        (2, "Carla Client", "Client Review", "In Progress"),
        (3, "Pavel PM", "Done", "To Do"),
    ]
    assert [r.beyond_allowance for r in rounds] == [False, False, True]
    assert rounds[2].is_reopen
    assert rounds[0].at.isoformat() == "2026-09-02T07:00:00+00:00"
    assert len(issue_evidence(facts_of(builder), as_of=msk("2026-09-03 00:00"))) == 1


# --- health -------------------------------------------------------------------------


def figures(
    *,
    by_issue: dict[str, int] | None = None,
    reopens: int = 0,
    creep_percent: float | None = 0.0,
) -> tuple[ScopeFigures, RevisionFigures, ReopenFigures]:
    counts = by_issue or {}
    unit = UnitFigures(20.0, 0, 0, 0, 0, creep_percent)
    scope = ScopeFigures(
        ScopeUnit.ISSUES, 20.0, 10, (), (), (), 0, creep_percent, {ScopeUnit.ISSUES: unit}
    )
    revisions = RevisionFigures(sum(counts.values()), 2, counts, ())
    return scope, revisions, ReopenFigures(reopens, {"ACME-1": reopens} if reopens else {})


@pytest.mark.parametrize(
    ("allowance", "revisions", "expected"),
    [
        (2, 0, Health.OK),
        (2, 1, Health.OK),
        (2, 2, Health.WARNING),  # at the allowance
        (2, 3, Health.BREACH),
        (5, 3, Health.OK),
        (5, 4, Health.WARNING),  # 80 % of 5
        (3, 2, Health.OK),  # 2 < 2.4
        (0, 0, Health.OK),
        (0, 1, Health.BREACH),
    ],
)
def test_health_per_issue_allowance(allowance: int, revisions: int, expected: Health) -> None:
    contract = make_contract(revisions_per_issue=allowance)
    report = assess_health(*figures(by_issue={"ACME-1": revisions} if revisions else {}), contract)
    assert report.level is expected
    if expected is not Health.OK:
        assert report.findings[0].metric == "issue_revisions"
        assert report.findings[0].issue_key == "ACME-1"


@pytest.mark.parametrize(
    ("total", "expected"),
    [(7, Health.OK), (8, Health.WARNING), (10, Health.WARNING), (11, Health.BREACH)],
)
def test_health_total_revisions(total: int, expected: Health) -> None:
    contract = make_contract(revisions_per_issue=100, revisions_total=10)
    counts = {f"ACME-{n}": 1 for n in range(total)}
    assert assess_health(*figures(by_issue=counts), contract).level is expected


@pytest.mark.parametrize(
    ("limit", "reopens", "expected"),
    [(None, 9, Health.OK), (2, 1, Health.OK), (2, 2, Health.WARNING), (2, 3, Health.BREACH)],
)
def test_health_reopens(limit: int | None, reopens: int, expected: Health) -> None:
    contract = make_contract(reopen_limit=limit)
    assert assess_health(*figures(reopens=reopens), contract).level is expected


@pytest.mark.parametrize(
    ("creep_percent", "expected"),
    [
        (0.0, Health.OK),
        (7.9, Health.OK),
        (8.0, Health.WARNING),
        (9.9, Health.WARNING),
        (10.0, Health.BREACH),  # reaching the alert level is a breach
        (None, Health.OK),
    ],
)
def test_health_creep_threshold(creep_percent: float | None, expected: Health) -> None:
    contract = make_contract(creep_alert_percent=10.0)
    assert assess_health(*figures(creep_percent=creep_percent), contract).level is expected


def test_health_from_a_summary() -> None:
    creep = [IssueBuilder(f"ACME-{n}", "2026-09-05 10:00") for n in (1, 2)]
    assert summary_of(*creep).health is Health.BREACH  # 2 of 20 = 10.0 %
    assert summary_of(creep[0]).health is Health.OK  # 5 %, under 80 % of 10 %
    assert summary_of(reviewed_and_sent_back("ACME-9", 2)).health is Health.WARNING


# --- overage ------------------------------------------------------------------------


def test_overage_in_an_hours_contract() -> None:
    contract = make_contract(
        scope={ScopeUnit.HOURS: 100.0},
        hours_per_revision=1.5,
        hourly_rate=80.0,
        currency="EUR",
    )
    summary = summary_of(
        IssueBuilder("ACME-1", "2026-09-05 10:00").estimate_hours(6),  # 6 h creep
        IssueBuilder("ACME-2", "2026-09-05 10:00").estimate_hours(9).labelled("change-request"),
        reviewed_and_sent_back("ACME-3", 4),  # 2 rounds beyond 2
        reviewed_and_sent_back("ACME-4", 3),  # 1 round beyond 2
        contract=contract,
    )
    assert summary.overage.rounds == 3
    assert summary.overage.hours == 6 + 3 * 1.5
    assert summary.overage.amount == 840.0
    assert summary.overage.currency == "EUR"


def test_overage_converts_story_point_creep_when_the_contract_has_no_hours() -> None:
    contract = make_contract(
        scope={ScopeUnit.STORY_POINTS: 50.0},
        hours_per_story_point=4.0,
        hourly_rate=100.0,
    )
    summary = summary_of(
        IssueBuilder("ACME-1", "2026-09-05 10:00").points(2),
        IssueBuilder("ACME-2", "2026-08-10 10:00").points(3).set_points(4, "2026-09-10 10:00"),
        contract=contract,
    )
    assert summary.scope.creep == 3.0
    assert summary.overage.hours == 12.0
    assert summary.overage.amount == 1200.0


def test_overage_without_a_conversion_counts_revision_rounds_only() -> None:
    contract = make_contract(hours_per_revision=2.0, hourly_rate=50.0)
    summary = summary_of(
        IssueBuilder("ACME-1", "2026-09-05 10:00").points(8),
        reviewed_and_sent_back("ACME-2", 3),
        contract=contract,
    )
    assert (summary.overage.rounds, summary.overage.hours, summary.overage.amount) == (
        1,
        2.0,
        100.0,
    )


def test_overage_prefers_hours_creep_over_converted_points() -> None:
    contract = make_contract(
        scope={ScopeUnit.STORY_POINTS: 50.0, ScopeUnit.HOURS: 100.0},
        hours_per_story_point=10.0,
        hourly_rate=1.0,
    )
    summary = summary_of(
        IssueBuilder("ACME-1", "2026-09-05 10:00").points(2).estimate_hours(3), contract=contract
    )
    assert summary.overage.hours == 3.0


# --- the summary document -----------------------------------------------------------


def test_summary_json_has_exactly_the_documented_shape() -> None:
    contract = make_contract(
        scope={ScopeUnit.ISSUES: 20.0, ScopeUnit.STORY_POINTS: 60.0},
        end=None,
        reopen_limit=5,
    )
    summary = summary_of(
        IssueBuilder("ACME-10", "2026-09-05 10:00").points(3),
        IssueBuilder("ACME-2", "2026-09-05 10:00"),
        IssueBuilder("ACME-100", "2026-09-05 10:00").labelled("change-request"),
        reviewed_and_sent_back("ACME-7", 1),
        contract=contract,
    )
    figures = ClientFigures("ACME", "ACME", summary, DailySeries(MSK, (), ()), SyncStatus(None, 0))
    document = json.loads(json.dumps(summary_document(figures)))
    for outside in ("client", "name", "sync"):
        del document[outside]
    assert document == {
        "as_of": "2026-10-15T12:00:00+03:00",
        "contract": {
            "start": "2026-08-01T00:00:00+03:00",
            "end": None,
            "baseline": "2026-09-01T00:00:00+03:00",
        },
        "scope": {
            "unit": "issues",
            "contracted": 20.0,
            "baseline_issues": 1,
            "added": ["ACME-2", "ACME-10"],
            "approved_changes": ["ACME-100"],
            "removed": [],
            "creep": 2,
            "creep_percent": 10.0,
            "by_unit": {
                "issues": {
                    "contracted": 20.0,
                    "added": 2,
                    "approved": 1,
                    "inflation": 0,
                    "creep": 2,
                    "creep_percent": 10.0,
                },
                "story_points": {
                    "contracted": 60.0,
                    "added": 3.0,
                    "approved": 0.0,
                    "inflation": 0.0,
                    "creep": 3.0,
                    "creep_percent": 5.0,
                },
            },
        },
        "revisions": {
            "total": 1,
            "per_issue_limit": 2,
            "by_issue": {"ACME-7": 1},
            "over_limit": [],
        },
        "reopens": {"total": 0, "by_issue": {}},
        "overage": {"amount": 0.0, "currency": "EUR", "rounds": 0, "hours": 0.0},
        "health": "breach",
    }


def test_natural_key_order() -> None:
    keys = ["ACME-10", "ACME-2", "acme-3", "ACME-100", "WEB-1", "ACME-1"]
    assert sorted(keys, key=natural_key) == [
        "ACME-1",
        "ACME-2",
        "acme-3",
        "ACME-10",
        "ACME-100",
        "WEB-1",
    ]


def test_summarize_rejects_a_naive_moment() -> None:
    with pytest.raises(ValueError, match="aware"):
        summarize([], CONTRACT, datetime(2026, 10, 1))


# --- facts: caching -----------------------------------------------------------------


def busy_issue() -> IssueBuilder:
    return (
        IssueBuilder("ACME-60", "2026-09-01T00:30:00+03:00")
        .points(2)
        .estimate_hours(1.5)
        .to("In Progress", "2026-09-02 10:00")
        .to("Client Review", "2026-09-03 10:00")
        .to("In Progress", "2026-09-04 10:00", by="Анна Клиент")
        .set_points(5, "2026-09-04 11:00")
        .set_estimate_hours(2.25, "2026-09-04 11:30")
        .add_label("change-request", "2026-09-06 12:00")
        .resolve("Declined", "2026-09-20 10:00")
    )


def test_facts_are_dated_in_utc() -> None:
    facts = facts_of(busy_issue())
    assert facts.created.isoformat() == "2026-08-31T21:30:00+00:00"
    assert all(r.at.utcoffset() is not None and r.at.tzinfo is UTC for r in facts.revisions)


def test_facts_of_another_schema_version_are_refused() -> None:
    facts = facts_of(busy_issue())
    older = msgspec.msgpack.encode((FACTS_SCHEMA_VERSION - 1, facts))
    with pytest.raises(ValueError, match="schema version"):
        decode_facts(older)
    with pytest.raises(ValueError, match="cannot be read"):
        decode_facts(b"not facts")


def test_facts_round_trip_through_their_storage_form() -> None:
    facts = facts_of(busy_issue(), contract=POINTS_CONTRACT)
    restored = decode_facts(encode_facts(facts))
    assert restored == facts
    assert restored.created.tzinfo is UTC
    assert restored.revisions[0].author_name == "Анна Клиент"
    assert restored.approved is True
    assert restored.removal_reason is RemovalReason.CANCELLED


def test_facts_decoded_apart_share_their_names() -> None:
    encoded = encode_facts(facts_of(busy_issue(), contract=POINTS_CONTRACT))
    first, second = decode_facts(encoded), decode_facts(encoded)
    assert first == second and first.revisions
    for mine, theirs in zip(first.revisions, second.revisions, strict=True):
        assert mine.from_status is theirs.from_status
        assert mine.to_status is theirs.to_status
        assert mine.author_name is theirs.author_name
    assert first.status is second.status
    assert first.issue_type is second.issue_type


def test_summaries_from_cached_facts_equal_fresh_ones() -> None:
    builders = [busy_issue(), inflating_issue(), reviewed_and_sent_back("ACME-61", 3)]
    fresh = [facts_of(b, contract=POINTS_CONTRACT) for b in builders]
    cached = [decode_facts(encode_facts(f)) for f in fresh]
    as_of = msk("2026-10-01 00:00")
    assert summarize(cached, POINTS_CONTRACT, as_of) == summarize(fresh, POINTS_CONTRACT, as_of)


def test_fingerprint_changes_with_what_the_facts_depend_on() -> None:
    base = facts_fingerprint(CONTRACT, RULES, STATUSES)
    assert base == facts_fingerprint(CONTRACT, RULES, StatusIndex(STATUSES))
    assert base != facts_fingerprint(
        make_contract(baseline=msk("2026-09-02 00:00")), RULES, STATUSES
    )
    assert base != facts_fingerprint(CONTRACT, WorkflowRules(review_statuses=("QA",)), STATUSES)
    renamed = {**STATUSES, "10": Status("10", "Client Check", WIP)}
    assert base != facts_fingerprint(CONTRACT, RULES, renamed)
    assert base != facts_fingerprint(CONTRACT, RULES, STATUSES, "customfield_10016")


def test_status_index_and_plain_mapping_give_the_same_facts() -> None:
    issue = busy_issue().build()
    index = StatusIndex(STATUSES)
    assert issue_facts(issue, CONTRACT, RULES, index) == issue_facts(
        issue, CONTRACT, RULES, STATUSES
    )
