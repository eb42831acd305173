"""Charts drawn from a client's typed figures, and the render cache.

The figures are read, with the same decoder the stored snapshots go through,
from documents built here in the shape ``/api/v1/clients/<key>/summary`` and
``…/timeseries`` serve; SVG output is read back as XML, PNG output by its
header and pixels.
"""

from __future__ import annotations

import io
import struct
import threading
import xml.etree.ElementTree as ET
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any, cast

import pytest

from scopeguard.adapters.charts import (
    LAYERS,
    MAX_BARS,
    activity_chart,
    chart_description,
    creep_chart,
    date_ticks,
    portfolio_chart,
    render_chart,
    revisions_chart,
    weekly_activity,
)
from scopeguard.domain.contract import ScopeUnit
from scopeguard.domain.figures import ClientFigures
from scopeguard.entrypoints.web.render_cache import RenderCache, RenderKey
from scopeguard.presentation.documents import (
    SeriesDocument,
    SummaryDocument,
    figures_from_documents,
    series_from_document,
)
from tests.support.issues import make_contract

SVG = "{http://www.w3.org/2000/svg}"


def make_documents(
    *,
    days: int = 60,
    start: date = date(2026, 6, 29),
    issues: int = 12,
    limit: int = 2,
    baseline: str = "2026-07-05T21:00:00+00:00",
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A summary and a series shaped like the API's, with growing creep and revisions."""
    by_issue = {f"ACME-{n}": (n * 7) % 5 + 1 for n in range(1, issues + 1)}
    over = [key for key, count in by_issue.items() if count > limit]
    points = []
    for index in range(days):
        day = start + timedelta(days=index)
        creep = index // 10
        points.append(
            {
                "date": day.isoformat(),
                "units": {
                    "issues": {
                        "baseline": 10,
                        "added": creep,
                        "approved": 1 if index > 20 else 0,
                        "inflation": 0,
                        "creep": creep,
                        "removed": 1 if index > 40 else 0,
                        "creep_percent": round(creep * 10.0, 1),
                    },
                    "story_points": {
                        "baseline": 40.0,
                        "added": creep * 2.5,
                        "approved": 0.0,
                        "inflation": 1.5,
                        "creep": creep * 2.5 + 1.5,
                        "removed": 0.0,
                        "creep_percent": round((creep * 2.5 + 1.5) / 40 * 100, 1),
                    },
                },
                "revisions": index // 3,
                "reopens": index // 15,
            }
        )
    last = points[-1]["units"]
    summary = {
        "client": "ACME",
        "name": "ACME Corp",
        "as_of": f"{points[-1]['date']}T12:00:00+00:00",
        "contract": {
            "start": f"{start.isoformat()}T00:00:00+03:00",
            "end": f"{(start + timedelta(days=days + 30)).isoformat()}T23:59:59.999999+03:00",
            "baseline": baseline,
        },
        "scope": {
            "unit": "issues",
            "contracted": 10.0,
            "baseline_issues": 10,
            "added": [f"ACME-{100 + n}" for n in range(last["issues"]["added"])],
            "approved_changes": ["ACME-200"],
            "removed": ["ACME-300"],
            "creep": last["issues"]["creep"],
            "creep_percent": last["issues"]["creep_percent"],
            "by_unit": {
                unit: {
                    "contracted": 10.0 if unit == "issues" else 40.0,
                    "added": figures["added"],
                    "approved": figures["approved"],
                    "inflation": figures["inflation"],
                    "creep": figures["creep"],
                    "creep_percent": figures["creep_percent"],
                }
                for unit, figures in last.items()
            },
        },
        "revisions": {
            "total": sum(by_issue.values()),
            "per_issue_limit": limit,
            "by_issue": by_issue,
            "over_limit": over,
        },
        "reopens": {"total": points[-1]["reopens"], "by_issue": {}},
        "overage": {"amount": 0.0, "currency": "EUR", "rounds": 0, "hours": 0.0},
        "health": "breach",
        "sync": {"last_success": None, "issues": issues},
    }
    series = {
        "client": "ACME",
        "timezone": "Europe/Moscow",
        "units": ["issues", "story_points"],
        "days": points,
    }
    return summary, series


def figures_of(summary: dict[str, Any], series: dict[str, Any] | None = None) -> ClientFigures:
    """The typed figures of API-shaped documents, read as a stored snapshot is."""
    if series is None:
        series = {"client": "ACME", "timezone": "Europe/Moscow", "units": ["issues"], "days": []}
    limits = summary["revisions"]["per_issue_limit"]
    contract = make_contract(revisions_per_issue=limits, creep_alert_percent=10.0)
    return figures_from_documents(
        cast("SummaryDocument", summary), cast("SeriesDocument", series), contract
    )


def svg_texts(document: bytes) -> list[str]:
    """Every text the SVG shows (it keeps text as text)."""
    root = ET.fromstring(document)
    # Babel joins some date parts with narrow no-break spaces; compare them as spaces.
    return [
        "".join(node.itertext()).replace("\u202f", " ").replace("\xa0", " ")
        for node in root.iter(f"{SVG}text")
    ]


def png_size(document: bytes) -> tuple[int, int]:
    assert document[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", document[16:24])
    return width, height


def png_pixels(document: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGBA, non-interlaced PNG (what Agg writes) into rows of pixels."""
    width, height = png_size(document)
    stream = io.BytesIO(document[8:])
    data = b""
    while True:
        length, kind = struct.unpack(">I4s", stream.read(8))
        chunk = stream.read(length)
        stream.read(4)
        if kind == b"IHDR":
            assert chunk[8:13] == bytes([8, 6, 0, 0, 0]), "expected 8-bit RGBA"
        elif kind == b"IDAT":
            data += chunk
        elif kind == b"IEND":
            break
    raw = zlib.decompress(data)
    stride = width * 4
    rows: list[bytes] = []
    previous = bytearray(stride)
    offset = 0
    for _ in range(height):
        kind = raw[offset]
        line = bytearray(raw[offset + 1 : offset + 1 + stride])
        offset += 1 + stride
        for i in range(stride):
            left = line[i - 4] if i >= 4 else 0
            up = previous[i]
            corner = previous[i - 4] if i >= 4 else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


# -- output formats -------------------------------------------------------------------


@pytest.mark.parametrize("width", [400, 800])
def test_png_has_the_requested_width(width: int) -> None:
    summary, series = make_documents()
    for document in (
        creep_chart(
            figures_of(summary, series),
            ScopeUnit("issues"),
            language="en",
            fmt="png",
            width_px=width,
        ),
        revisions_chart(figures_of(summary).summary, language="en", fmt="png", width_px=width),
        activity_chart(series_from_document(series), language="en", fmt="png", width_px=width),
    ):
        assert png_size(document)[0] == width


def test_portfolio_chart_is_small() -> None:
    summary, series = make_documents()
    width, height = png_size(portfolio_chart(figures_of(summary, series), language="en", fmt="png"))
    assert width == 300 and height < 300


def test_output_is_reproducible_byte_for_byte() -> None:
    summary, series = make_documents()
    for fmt in ("png", "svg"):
        first = creep_chart(
            figures_of(summary, series), ScopeUnit("story_points"), language="ru", fmt=fmt
        )
        again = creep_chart(
            figures_of(summary, series), ScopeUnit("story_points"), language="ru", fmt=fmt
        )
        assert first == again, fmt
    svg = revisions_chart(figures_of(summary).summary, language="en", fmt="svg")
    assert b"<dc:date>" not in svg  # no creation date in the metadata


def test_svg_keeps_text_as_text_in_the_requested_language() -> None:
    summary, series = make_documents()
    english = svg_texts(revisions_chart(figures_of(summary).summary, language="en", fmt="svg"))
    russian = svg_texts(revisions_chart(figures_of(summary).summary, language="ru", fmt="svg"))
    assert "Revision rounds per issue" in english
    assert "Раунды правок по задачам" in russian
    assert "Лимит: 2 раунда на задачу" in russian  # Russian plural form for 2
    creep = svg_texts(
        creep_chart(figures_of(summary, series), ScopeUnit("issues"), language="ru", fmt="svg")
    )
    assert "Объём (задачи) в сравнении с договором" in creep
    assert any(text.startswith("Расползание ") and "%" in text for text in creep)


def test_dates_are_agency_days_and_localized() -> None:
    # 21:00 UTC on 5 July is 00:00 on 6 July in Moscow: the baseline is 6 July there.
    summary, series = make_documents(baseline="2026-07-05T21:00:00+00:00")
    english = svg_texts(
        creep_chart(figures_of(summary, series), ScopeUnit("issues"), language="en", fmt="svg")
    )
    russian = svg_texts(
        creep_chart(figures_of(summary, series), ScopeUnit("issues"), language="ru", fmt="svg")
    )
    assert "Baseline date (Jul 6, 2026)" in english
    assert "Дата базового плана (6 июл. 2026 г.)" in russian
    assert "1 Aug" in english and "1 авг." in russian  # month-start ticks, localized


def test_revisions_chart_labels_over_limit_issues() -> None:
    summary, _series = make_documents(issues=12, limit=2)
    texts = svg_texts(revisions_chart(figures_of(summary).summary, language="en", fmt="svg"))
    over = summary["revisions"]["over_limit"]
    assert over and all(key in texts for key in over)
    assert "Allowance: 2 rounds per issue" in texts


def test_revisions_chart_keeps_the_most_revised_when_there_are_many() -> None:
    summary, _series = make_documents(issues=MAX_BARS + 25, limit=2)
    by_issue = summary["revisions"]["by_issue"]
    texts = svg_texts(revisions_chart(figures_of(summary).summary, language="en", fmt="svg"))
    shown = [key for key in by_issue if key in texts]
    assert len(shown) == MAX_BARS
    assert min(by_issue[key] for key in shown) >= max(
        by_issue[key] for key in by_issue if key not in shown
    )
    total = len(by_issue)
    assert any(f"the {MAX_BARS} most revised of {total} issues" in text for text in texts)


def test_weekly_activity_is_the_growth_per_monday_week() -> None:
    _summary, series = make_documents(days=30, start=date(2026, 7, 1))  # a Wednesday
    weeks = weekly_activity(series_from_document(series))
    assert [week[0].weekday() for week in weeks] == [0] * len(weeks)
    assert weeks[0][0] == date(2026, 6, 29)
    assert sum(week[1] for week in weeks) == series["days"][-1]["revisions"]
    assert sum(week[2] for week in weeks) == series["days"][-1]["reopens"]
    # The first full week (6–12 July) grows from the value on 5 July to that on 12 July.
    by_day = {day["date"]: day["revisions"] for day in series["days"]}
    assert weeks[1][1] == by_day["2026-07-12"] - by_day["2026-07-05"]


def test_empty_documents_still_draw() -> None:
    summary, series = make_documents()
    series = {**series, "days": []}
    summary["revisions"] = {"total": 0, "per_issue_limit": 2, "by_issue": {}, "over_limit": []}
    assert "No data yet" in svg_texts(
        creep_chart(figures_of(summary, series), ScopeUnit("issues"), language="en", fmt="svg")
    )
    assert "No revision rounds yet" in svg_texts(
        revisions_chart(figures_of(summary).summary, language="en", fmt="svg")
    )
    assert "No data yet" in svg_texts(
        activity_chart(series_from_document(series), language="en", fmt="svg")
    )


def test_bad_requests_are_refused() -> None:
    summary, series = make_documents()
    with pytest.raises(ValueError, match="hours"):
        creep_chart(figures_of(summary, series), ScopeUnit("hours"), language="en", fmt="png")
    with pytest.raises(ValueError, match="format"):
        revisions_chart(figures_of(summary).summary, language="en", fmt="gif")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown chart"):
        render_chart("pie", figures_of(summary, series), language="en", fmt="png")


def test_bands_differ_in_lightness_or_texture_for_greyscale_print() -> None:
    def lightness(colour: str) -> float:
        r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
        return 0.299 * r + 0.587 * g + 0.114 * b

    for index, one in enumerate(LAYERS):
        for other in LAYERS[index + 1 :]:
            assert (
                abs(lightness(one.face) - lightness(other.face)) > 0.2 or one.hatch != other.hatch
            )


def test_the_stacked_bands_are_drawn_where_the_data_puts_them() -> None:
    # A flat series: 10 baseline, 5 approved, 5 creep against 10 contracted. Down
    # the middle of the plot, from the bottom, come sky blue, green, vermillion.
    summary, series = make_documents(days=30)
    for day in series["days"]:
        day["units"]["issues"].update(baseline=10, approved=5, creep=5, removed=0)
    width, _height, rows = png_pixels(
        creep_chart(
            figures_of(summary, series), ScopeUnit("issues"), language="en", fmt="png", width_px=600
        )
    )
    column = width // 2
    seen: list[tuple[int, int, int]] = []
    for row in rows[::-1]:
        pixel = tuple(row[column * 4 : column * 4 + 3])
        if not seen or seen[-1] != pixel:
            seen.append(pixel)  # type: ignore[arg-type]

    def hexed(colour: str) -> tuple[int, int, int]:
        return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))

    faces = [hexed(layer.face) for layer in LAYERS]
    order = [faces.index(p) for p in seen if p in faces]
    deduplicated = [value for i, value in enumerate(order) if i == 0 or order[i - 1] != value]
    assert deduplicated[:3] == [0, 1, 2], deduplicated


# -- concurrency and the cache -----------------------------------------------------------


def test_concurrent_rendering_gives_the_serial_result() -> None:
    summary, series = make_documents()
    jobs = [
        ("creep", "png", "en"),
        ("revisions", "svg", "ru"),
        ("activity", "png", "ru"),
        ("creep", "svg", "en"),
    ] * 2
    expected = {
        job: render_chart(job[0], figures_of(summary, series), language=job[2], fmt=job[1])  # type: ignore[arg-type]
        for job in set(jobs)
    }
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(
                lambda job: (
                    job,
                    render_chart(job[0], figures_of(summary, series), language=job[2], fmt=job[1]),
                ),
                jobs,
            )
        )
    for job, document in results:
        assert document == expected[job], job


def test_cache_renders_each_key_once_under_concurrency() -> None:
    cache: RenderCache[bytes] = RenderCache(16)
    calls = 0
    lock = threading.Lock()
    started = threading.Event()

    def render() -> bytes:
        nonlocal calls
        with lock:
            calls += 1
        started.wait(0.2)  # keep the first render in flight while the others arrive
        return b"chart"

    key = RenderKey("ACME", "2026-07-01T00:00:00+00:00", ("creep", "en", "png"))
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda _i: cache.get_or_render(key, render), range(10)))
    started.set()
    assert results == [b"chart"] * 10
    assert calls == 1
    assert cache.stats.renders == 1


def test_a_newer_snapshot_replaces_the_clients_older_renderings() -> None:
    cache: RenderCache[bytes] = RenderCache(16)
    old = RenderKey("ACME", "2026-07-01T00:00:00+00:00", ("creep",))
    other = RenderKey("BETA", "2026-07-01T00:00:00+00:00", ("creep",))
    cache.get_or_render(old, lambda: b"old")
    cache.get_or_render(other, lambda: b"beta")
    new = RenderKey("ACME", "2026-07-02T00:00:00+00:00", ("creep",))
    assert cache.get_or_render(new, lambda: b"new") == b"new"
    assert cache.get(old) is None
    assert cache.get(other) == b"beta"
    assert len(cache) == 2


def test_cache_is_bounded_least_recently_used_first() -> None:
    cache: RenderCache[str] = RenderCache(3)
    keys = [RenderKey(f"C{i}", "t", ()) for i in range(4)]
    for key in keys[:3]:
        cache.get_or_render(key, lambda key=key: key.client)
    cache.get(keys[0])  # now the most recently used
    cache.get_or_render(keys[3], lambda: "C3")
    assert cache.get(keys[1]) is None
    assert cache.get(keys[0]) == "C0"
    assert len(cache) == 3


# -- ticks and descriptions ------------------------------------------------------------------


def test_date_ticks_are_month_starts_or_mondays() -> None:
    long = date_ticks(date(2026, 5, 20), date(2026, 12, 5), 8)
    assert long and all(day.day == 1 for day in long)
    assert long[0] == date(2026, 6, 1)
    short = date_ticks(date(2026, 7, 1), date(2026, 8, 10), 10)
    assert short and all(day.weekday() == 0 for day in short)
    assert len(date_ticks(date(2026, 1, 1), date(2027, 12, 31), 6)) <= 6


def test_descriptions_name_the_figures() -> None:
    summary, series = make_documents(issues=12, limit=2)
    text = chart_description("revisions", figures_of(summary, series), language="en")
    for key in summary["revisions"]["over_limit"]:
        assert key in text
    scope = chart_description(
        "creep", figures_of(summary, series), language="ru", unit=ScopeUnit.ISSUES
    )
    assert "по договору 10" in scope
    activity = chart_description("activity", figures_of(summary, series), language="en")
    assert str(summary["revisions"]["total"]) in activity
