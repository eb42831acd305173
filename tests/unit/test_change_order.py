"""The chronological order of change items: ``sort_changes`` and its shortcut ``in_change_order``.

``sort_changes`` skips sorting when the items already are in order, so the check
must agree exactly with the sort, above all on ties: histories written in the
same millisecond, whose numeric ids decide, and several items of one history,
which keep their order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from scopeguard.domain.model import ChangeItem, history_number, in_change_order, sort_changes

MOMENT = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def _item(history_id: str, field: str = "status", *, at: datetime = MOMENT) -> ChangeItem:
    return ChangeItem(history_id=history_id, created=at, field=field)


def test_ids_of_one_moment_are_compared_as_numbers_not_text() -> None:
    # As text "10" sorts before "9"; as ids of histories "9" was written first.
    later, earlier = _item("10"), _item("9")

    assert not in_change_order([later, earlier])
    assert sort_changes([later, earlier]) == (earlier, later)
    assert in_change_order([earlier, later])


def test_items_of_one_history_keep_their_order() -> None:
    items = [_item("7", "status"), _item("7", "assignee"), _item("7", "labels")]

    assert in_change_order(items)
    assert sort_changes(list(reversed(items))) == tuple(reversed(items))


def test_newest_first_answer_is_reversed_into_time_order() -> None:
    # Cloud's /changelog answers newest first.
    newest_first = [_item(str(n), at=MOMENT + timedelta(minutes=n)) for n in (3, 2, 1)]

    assert not in_change_order(newest_first)
    assert [item.history_id for item in sort_changes(newest_first)] == ["1", "2", "3"]


def test_a_history_split_by_another_of_the_same_moment_is_regrouped() -> None:
    first, other, first_again = _item("5", "status"), _item("6"), _item("5", "labels")

    assert not in_change_order([first, other, first_again])
    assert sort_changes([first, other, first_again]) == (first, first_again, other)


def test_non_numeric_ids_sort_before_numeric_ones_and_among_themselves_as_text() -> None:
    assert history_number("abc") == 0
    items = [_item("12"), _item("b"), _item("a")]

    assert [item.history_id for item in sort_changes(items)] == ["a", "b", "12"]


_ids = st.sampled_from(["1", "2", "9", "10", "11", "100", "x", "y"])
_fields = st.sampled_from(["status", "labels", "assignee"])
_offsets = st.integers(min_value=0, max_value=3)


@given(st.lists(st.tuples(_offsets, _ids, _fields), max_size=12))
def test_sort_changes_agrees_with_a_plain_stable_sort(
    rows: list[tuple[int, str, str]],
) -> None:
    items = [_item(history, field, at=MOMENT + timedelta(seconds=s)) for s, history, field in rows]

    expected = tuple(
        sorted(items, key=lambda i: (i.created, history_number(i.history_id), i.history_id))
    )

    assert sort_changes(items) == expected
    assert in_change_order(items) == (tuple(items) == expected)
    assert in_change_order(list(expected))
