"""The panel's and the reports' charts, drawn from a client's typed figures.

Inputs are the :class:`~scopeguard.domain.figures.ClientFigures` the API's
documents are written from, so the charts, the API and the PDF reports show
the same numbers.

How they are drawn:

- matplotlib's object API with an Agg canvas per figure — never ``pyplot``,
  whose global figure registry is not safe across threads. One lock serializes
  drawing: matplotlib's font cache and ``rcParams`` are process-wide, and
  drawing is CPU-bound under the GIL anyway, so the lock costs no throughput.
- The Okabe–Ito palette (safe for the common colour-vision deficiencies),
  chosen so neighbouring areas differ in lightness, plus hatching and line
  styles, so a greyscale print still tells the series apart.
- Labels come from the gettext catalogs (``charts.po``) in the requested
  language; numbers and dates are formatted by Babel for that language. Series
  dates are already agency days; the baseline moment is converted to the
  agency's zone (the series' ``timezone``).
- SVG keeps text as text (``svg.fonttype: none``) and is byte-for-byte
  reproducible: a fixed ``svg.hashsalt`` and no creation date.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any, Literal

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator
from matplotlib.typing import RcKeyType

from scopeguard.domain.contract import ScopeUnit
from scopeguard.domain.figures import ClientFigures
from scopeguard.domain.keys import natural_key
from scopeguard.domain.metrics import ScopeSummary
from scopeguard.domain.timeseries import DailySeries
from scopeguard.presentation.formatting import (
    format_day,
    format_number,
    format_percent,
    format_short_day,
    health_label,
    unit_label,
)
from scopeguard.presentation.i18n import gettext_for, ngettext_for

ChartFormat = Literal["png", "svg"]
CHART_NAMES: tuple[str, ...] = ("creep", "revisions", "activity")
"""The per-client charts the panel serves at ``/clients/<key>/charts/<name>.<fmt>``."""

DPI = 100
MAX_BARS = 30
"""The revisions chart shows at most this many issues (the most revised ones)."""

# Okabe & Ito, "Color Universal Design" (2008).
BLACK = "#000000"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
GREEN = "#009E73"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
GREY = "#555555"


class Layer:
    """One stacked band of the scope chart: colour for the screen, hatch for print."""

    __slots__ = ("edge", "face", "field", "hatch")

    def __init__(self, field: str, face: str, edge: str, hatch: str | None) -> None:
        self.field = field
        self.face = face
        self.edge = edge
        self.hatch = hatch


# Light blue, mid green with diagonals, vermillion with cross-hatching: the three
# bands differ in lightness *and* texture, so they survive a black-and-white print.
LAYERS: tuple[Layer, ...] = (
    Layer("baseline", SKY_BLUE, BLUE, None),
    Layer("approved", GREEN, "#00573F", "//"),
    Layer("creep", VERMILLION, "#7A3600", "xx"),
)

_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "scopeguard-charts",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],  # ships with matplotlib and covers Cyrillic
    "hatch.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
}

_LOCK = threading.Lock()


def _render(
    draw: Callable[[Figure], str], *, width_px: int, height_px: int, fmt: ChartFormat
) -> bytes:
    """Draw on a fresh figure and encode it; ``draw`` returns the chart's title."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"unknown chart format {fmt!r} (png or svg)")
    if width_px < 150 or width_px > 4000:
        raise ValueError(f"chart width {width_px}px is outside 150–4000")
    with _LOCK, matplotlib.rc_context(_RC):
        figure = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        title = draw(figure)
        buffer = io.BytesIO()
        # No creation date: the same data gives the same bytes (caching, tests, PDFs).
        metadata: dict[str, str | None] = {"Title": title}
        if fmt == "svg":
            metadata["Date"] = None
        figure.savefig(buffer, format=fmt, dpi=DPI, metadata=metadata)
    return buffer.getvalue()


def _empty(axes: Axes, message: str) -> None:
    axes.set_xticks([])
    axes.set_yticks([])
    for spine in axes.spines.values():
        spine.set_visible(False)
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes, color=GREY)


def _bars(
    axes: Axes,
    bars: Sequence[tuple[float, float, float]],
    *,
    face: str,
    edge: str,
    hatch: str | None,
    label: str,
    horizontal: bool = False,
) -> PolyCollection:
    """Bars ``(from, to, height)`` as one collection.

    ``Axes.bar`` makes an artist per bar, each re-computing the data limits;
    one collection draws a year of weekly bars several times faster. Callers
    set the axis limits themselves.
    """
    shapes = []
    for start, end, height in bars:
        if horizontal:
            shapes.append([(0.0, start), (height, start), (height, end), (0.0, end)])
        else:
            shapes.append([(start, 0.0), (start, height), (end, height), (end, 0.0)])
    collection = PolyCollection(
        shapes, facecolors=face, edgecolors=edge, linewidths=0.6, hatch=hatch, label=label
    )
    axes.add_collection(collection, autolim=False)
    return collection


def _number_axis(axes: Axes, language: str, *, integer: bool) -> None:
    axes.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=integer, min_n_ticks=2))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_number(v, language)))


def _x(day: date) -> float:
    # Days as proleptic ordinals: plain numbers, no matplotlib date converter
    # (whose epoch is global state) and exact for calendar days.
    return float(day.toordinal())


def date_ticks(first: date, last: date, max_ticks: int) -> list[date]:
    """Tick days for an axis from ``first`` to ``last``: month starts for spans of
    about three months or more, else Mondays, thinned evenly to ``max_ticks``."""
    if last <= first:
        return [first]
    if (last - first).days >= 75:
        candidates = []
        month = date(first.year, first.month, 1)
        while month <= last:
            if month >= first:
                candidates.append(month)
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    else:
        monday = first + timedelta(days=(7 - first.weekday()) % 7)
        candidates = [monday + timedelta(weeks=i) for i in range((last - monday).days // 7 + 1)]
    if not candidates:
        return [first]
    step = max(1, -(-len(candidates) // max(1, max_ticks)))
    return candidates[::step]


def _date_axis(axes: Axes, first: date, last: date, language: str, *, max_ticks: int) -> None:
    ticks = date_ticks(first, last, max_ticks)
    axes.xaxis.set_major_locator(FixedLocator([_x(day) for day in ticks]))
    axes.xaxis.set_major_formatter(
        FuncFormatter(lambda v, _pos: format_short_day(date.fromordinal(round(v)), language))
    )


def _draw_scope(
    axes: Axes,
    figures: ClientFigures,
    unit: ScopeUnit,
    language: str,
    *,
    compact: bool,
    max_ticks: int,
) -> list[Any]:
    """The stacked scope bands, the contracted line, removed scope and the baseline date.

    Returns the artists to put in a legend.
    """
    _ = gettext_for(language)
    series, summary = figures.series, figures.summary
    days = [day.day for day in series.days]
    contracted = summary.scope.by_unit[unit].contracted
    if not days:
        _empty(axes, _("No data yet"))
        return []
    points = [day.units[unit] for day in series.days]
    x = [_x(day) for day in days]
    labels = {
        "baseline": _("Baseline scope"),
        "approved": _("Approved changes"),
        "creep": _("Creep"),
    }
    handles: list[Any] = []
    lower = [0.0] * len(x)
    for layer in LAYERS:
        upper = [
            low + getattr(point, layer.field) for low, point in zip(lower, points, strict=True)
        ]
        handles.append(
            axes.fill_between(
                x,
                lower,
                upper,
                facecolor=layer.face,
                edgecolor=layer.edge,
                hatch=layer.hatch,
                linewidth=0.6,
                label=labels[layer.field],
            )
        )
        lower = upper
    top = max([contracted, *lower])
    handles.append(
        axes.axhline(
            contracted, color=BLACK, linewidth=2.2 if not compact else 1.6, label=_("Contracted")
        )
    )
    removed = [point.removed for point in points]
    if any(removed):
        top = max(top, *removed)
        (line,) = axes.plot(
            x,
            removed,
            color=BLACK,
            linestyle=(0, (4, 2)),
            linewidth=1.4,
            label=_("Removed (not subtracted)"),
        )
        handles.append(line)
    zone = series.timezone
    baseline_at = summary.contract.baseline.astimezone(zone)
    clock = baseline_at.timetz()
    day_fraction = (clock.hour * 3600 + clock.minute * 60 + clock.second) / 86400
    baseline_x = _x(baseline_at.date()) + day_fraction
    last_day = days[-1]
    if summary.contract.end is not None:
        last_day = max(last_day, summary.contract.end.astimezone(zone).date())
    end_x = _x(last_day)
    if x[0] <= baseline_x <= end_x:
        handles.append(
            axes.axvline(
                baseline_x,
                color=GREY,
                linestyle=":",
                linewidth=1.6,
                label=_("Baseline date (%(day)s)")
                % {"day": format_day(baseline_at.date(), language)},
            )
        )
    axes.set_xlim(x[0], max(end_x, x[0] + 1))
    axes.set_ylim(0, top * 1.12 if top > 0 else 1)
    _date_axis(axes, days[0], last_day, language, max_ticks=max_ticks)
    _number_axis(axes, language, integer=unit is ScopeUnit.ISSUES)
    axes.grid(axis="y", color="#DDDDDD", linewidth=0.6)
    axes.set_axisbelow(True)
    return handles


def _burn_line(axes: Axes, figures: ClientFigures, language: str) -> Any:
    """The contract burn: hours logged so far, day by day, over the hours bands."""
    _ = gettext_for(language)
    days = figures.series.days
    logged = [day.logged_hours for day in days]
    (line,) = axes.plot(
        [_x(day.day) for day in days],
        logged,
        color=BLUE,
        linestyle=(0, (6, 2, 1, 2)),
        linewidth=2.0,
        label=_("Hours logged"),
    )
    low, high = axes.get_ylim()
    if logged and max(logged) * 1.05 > high:
        axes.set_ylim(low, max(logged) * 1.05)
    return line


def creep_chart(
    figures: ClientFigures,
    unit: ScopeUnit,
    *,
    language: str,
    fmt: ChartFormat,
    width_px: int = 800,
) -> bytes:
    """Scope over time in one unit: baseline, approved changes and creep stacked, the
    contracted amount as a line, removed scope apart (dashed), the baseline date marked.

    ``unit`` is one the contract names (``figures.series.units``), else ``ValueError``.
    """
    if unit not in figures.series.units:
        raise ValueError(f"the contract names no {unit!r} scope")
    _ = gettext_for(language)
    unit_name = unit_label(unit, language)
    in_unit = figures.summary.scope.by_unit[unit]
    title = _("Scope in %(unit)s against the contract") % {"unit": unit_name}

    def draw(figure: Figure) -> str:
        axes = figure.add_subplot()
        axes.set_title(title)
        handles = _draw_scope(
            axes, figures, unit, language, compact=False, max_ticks=width_px // 100
        )
        if handles and unit is ScopeUnit.HOURS and figures.effort is not None:
            handles.append(_burn_line(axes, figures, language))
        if handles:
            axes.set_ylabel(unit_name)
            axes.text(
                1.0,
                1.01,
                _("Creep %(percent)s")
                % {"percent": format_percent(in_unit.creep_percent, language)},
                transform=axes.transAxes,
                ha="right",
                va="bottom",
                fontsize=9,
                color=VERMILLION if in_unit.creep else GREY,
                fontweight="bold",
            )
            figure.legend(
                handles=handles, loc="outside lower center", ncols=3 if width_px >= 600 else 2
            )
        return title

    return _render(draw, width_px=width_px, height_px=int(width_px * 0.5) + 40, fmt=fmt)


def revisions_chart(
    summary: ScopeSummary,
    *,
    language: str,
    fmt: ChartFormat,
    width_px: int = 800,
) -> bytes:
    """Revision rounds per issue against the per-issue allowance.

    One horizontal bar per issue with revisions, most revised first (at most
    :data:`MAX_BARS`); issues over the allowance are vermillion, hatched and
    labelled in bold; the allowance is a dashed line.
    """
    _ = gettext_for(language)
    ngettext = ngettext_for(language)
    revisions = summary.revisions
    limit = revisions.per_issue_limit
    over = set(revisions.over_limit)
    ranked = sorted(revisions.by_issue.items(), key=lambda kv: (-kv[1], natural_key(kv[0])))
    shown = ranked[:MAX_BARS]
    title = _("Revision rounds per issue")

    def draw(figure: Figure) -> str:
        axes = figure.add_subplot()
        axes.set_title(title)
        if not shown:
            _empty(axes, _("No revision rounds yet"))
            return title
        keys = [key for key, _count in shown]
        counts = [count for _key, count in shown]
        rows = list(range(len(shown)))
        within = [i for i in rows if keys[i] not in over]
        beyond = [i for i in rows if keys[i] in over]
        handles: list[Any] = []
        if within:
            handles.append(
                _bars(
                    axes,
                    [(i - 0.4, i + 0.4, counts[i]) for i in within],
                    face=SKY_BLUE,
                    edge=BLUE,
                    hatch=None,
                    label=_("Within the allowance"),
                    horizontal=True,
                )
            )
        if beyond:
            handles.append(
                _bars(
                    axes,
                    [(i - 0.4, i + 0.4, counts[i]) for i in beyond],
                    face=VERMILLION,
                    edge="#7A3600",
                    hatch="xx",
                    label=_("Over the allowance"),
                    horizontal=True,
                )
            )
        handles.append(
            axes.axvline(
                limit,
                color=BLACK,
                linestyle=(0, (5, 2)),
                linewidth=1.6,
                label=ngettext(
                    "Allowance: %(num)d round per issue",
                    "Allowance: %(num)d rounds per issue",
                    limit,
                )
                % {"num": limit},
            )
        )
        axes.set_yticks(rows, keys)
        for label, key in zip(axes.get_yticklabels(), keys, strict=True):
            if key in over:
                label.set_fontweight("bold")
                label.set_color("#7A3600")
        axes.set_ylim(len(shown) - 0.4, -0.6)  # the most revised on top
        for row, count in zip(rows, counts, strict=True):
            axes.text(count + 0.08, row, format_number(count, language), va="center", fontsize=8)
        axes.set_xlim(0, max([*counts, limit]) * 1.12 + 0.5)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=2))
        axes.grid(axis="x", color="#DDDDDD", linewidth=0.6)
        axes.set_axisbelow(True)
        xlabel = _("Revision rounds")
        if len(ranked) > len(shown):
            xlabel += " · " + _("the %(shown)d most revised of %(total)d issues") % {
                "shown": len(shown),
                "total": len(ranked),
            }
        axes.set_xlabel(xlabel)
        figure.legend(
            handles=handles, loc="outside lower center", ncols=3 if width_px >= 600 else 1
        )
        return title

    bars = max(len(shown), 3)
    height = 110 + 20 * bars + (0 if width_px >= 600 else 40)
    return _render(draw, width_px=width_px, height_px=height, fmt=fmt)


def weekly_activity(series: DailySeries) -> list[tuple[date, int, int]]:
    """``(week's Monday, revision rounds, reopens)`` per calendar week of the series.

    The series counts are cumulative at each day's end; a week's figure is the
    growth over that week. Weeks are Monday to Sunday in the agency's calendar.
    """
    weeks: list[tuple[date, int, int]] = []
    before_revisions = before_reopens = 0
    current: date | None = None
    last_revisions = last_reopens = 0
    for day in series.days:
        moment = day.day
        monday = moment - timedelta(days=moment.weekday())
        if current is not None and monday != current:
            weeks.append(
                (current, last_revisions - before_revisions, last_reopens - before_reopens)
            )
            before_revisions, before_reopens = last_revisions, last_reopens
        current = monday
        last_revisions, last_reopens = day.revisions, day.reopens
    if current is not None:
        weeks.append((current, last_revisions - before_revisions, last_reopens - before_reopens))
    return weeks


def activity_chart(
    series: DailySeries,
    *,
    language: str,
    fmt: ChartFormat,
    width_px: int = 800,
) -> bytes:
    """Revision rounds and reopens per week (grouped bars: plain blue and hatched orange)."""
    _ = gettext_for(language)
    weeks = weekly_activity(series)
    title = _("Revision rounds and reopens per week")

    def draw(figure: Figure) -> str:
        axes = figure.add_subplot()
        axes.set_title(title)
        if not weeks:
            _empty(axes, _("No data yet"))
            return title
        positions = list(range(len(weeks)))
        width = 0.42
        handles = [
            _bars(
                axes,
                [(p - width, p, w[1]) for p, w in zip(positions, weeks, strict=True)],
                face=BLUE,
                edge=BLUE,
                hatch=None,
                label=_("Revision rounds"),
            ),
            _bars(
                axes,
                [(p, p + width, w[2]) for p, w in zip(positions, weeks, strict=True)],
                face=ORANGE,
                edge="#7A5500",
                hatch="//",
                label=_("Reopens"),
            ),
        ]
        # Label as many weeks as fit, evenly spaced, always including the latest.
        fit = max(2, width_px // 75)
        step = max(1, -(-len(weeks) // fit))
        ticks = positions[::-1][::step][::-1]
        axes.set_xticks(ticks, [format_short_day(weeks[i][0], language) for i in ticks])
        axes.set_xlim(-0.6, len(weeks) - 0.4)
        _number_axis(axes, language, integer=True)
        top = max(*(w[1] for w in weeks), *(w[2] for w in weeks))
        axes.set_ylim(0, max(1, top) * 1.15)
        axes.set_xlabel(_("Week starting"))
        axes.grid(axis="y", color="#DDDDDD", linewidth=0.6)
        axes.set_axisbelow(True)
        figure.legend(handles=handles, loc="outside lower center", ncols=2)
        return title

    return _render(draw, width_px=width_px, height_px=int(width_px * 0.4) + 50, fmt=fmt)


def portfolio_chart(
    figures: ClientFigures,
    *,
    language: str,
    fmt: ChartFormat,
    width_px: int = 300,
) -> bytes:
    """A small scope chart of one client for the portfolio: the headline unit's bands
    and contracted line, titled with the client's name, creep and health."""
    _ = gettext_for(language)
    summary = figures.summary
    unit = summary.scope.unit
    name = figures.name or figures.key
    if len(name) > 34:
        name = name[:33] + "…"
    title = f"{name}\n" + _("Creep %(percent)s") % {
        "percent": format_percent(summary.scope.by_unit[unit].creep_percent, language)
    }
    title += f" · {health_label(summary.health, language)}"

    def draw(figure: Figure) -> str:
        axes = figure.add_subplot()
        axes.set_title(title, fontsize=8, linespacing=1.4)
        handles = _draw_scope(axes, figures, unit, language, compact=True, max_ticks=3)
        if handles:
            axes.tick_params(labelsize=7)
            axes.set_ylabel(unit_label(unit, language), fontsize=7)
        return title.replace("\n", " · ")

    return _render(draw, width_px=width_px, height_px=int(width_px * 0.6), fmt=fmt)


def chart_description(
    name: str,
    figures: ClientFigures,
    *,
    language: str,
    unit: ScopeUnit | None = None,
) -> str:
    """The text alternative of a chart (``alt``): what it shows, with its key figures.

    ``name`` is ``creep``, ``revisions``, ``activity`` or ``portfolio``.
    """
    _ = gettext_for(language)
    ngettext = ngettext_for(language)
    summary = figures.summary
    if name in ("creep", "portfolio"):
        unit = unit or summary.scope.unit
        in_unit = summary.scope.by_unit[unit]
        return _(
            "Scope in %(unit)s over time: contracted %(contracted)s, approved changes "
            "%(approved)s, creep %(creep)s (%(percent)s of the contract)."
        ) % {
            "unit": unit_label(unit, language),
            "contracted": format_number(in_unit.contracted, language),
            "approved": format_number(in_unit.approved, language),
            "creep": format_number(in_unit.creep, language),
            "percent": format_percent(in_unit.creep_percent, language),
        }
    if name == "revisions":
        revisions = summary.revisions
        over = revisions.over_limit
        text = ngettext(
            "Revision rounds per issue against an allowance of %(num)d round.",
            "Revision rounds per issue against an allowance of %(num)d rounds.",
            revisions.per_issue_limit,
        ) % {"num": revisions.per_issue_limit}
        if over:
            text += " " + ngettext(
                "%(num)d issue is over the allowance: %(keys)s.",
                "%(num)d issues are over the allowance: %(keys)s.",
                len(over),
            ) % {"num": len(over), "keys": ", ".join(over)}
        else:
            text += " " + _("No issue is over the allowance.")
        return text
    if name == "activity":
        weeks = weekly_activity(figures.series)
        busiest = max(weeks, key=lambda w: (w[1], w[0]), default=None)
        text = _(
            "Revision rounds and reopens per week: %(revisions)s rounds and "
            "%(reopens)s reopens in total."
        ) % {
            "revisions": format_number(summary.revisions.total, language),
            "reopens": format_number(summary.reopens.total, language),
        }
        if busiest is not None and busiest[1] > 0:
            text += " " + _("The busiest week began %(day)s with %(num)s rounds.") % {
                "day": format_day(busiest[0], language),
                "num": format_number(busiest[1], language),
            }
        return text
    raise ValueError(f"unknown chart {name!r}")


def render_chart(
    name: str,
    figures: ClientFigures,
    *,
    language: str,
    fmt: ChartFormat,
    unit: ScopeUnit | None = None,
    width_px: int = 800,
) -> bytes:
    """Any per-client chart by name (``creep`` needs ``unit``; default: the headline unit)."""
    if name == "creep":
        return creep_chart(
            figures,
            unit or figures.summary.scope.unit,
            language=language,
            fmt=fmt,
            width_px=width_px,
        )
    if name == "revisions":
        return revisions_chart(figures.summary, language=language, fmt=fmt, width_px=width_px)
    if name == "activity":
        return activity_chart(figures.series, language=language, fmt=fmt, width_px=width_px)
    raise ValueError(f"unknown chart {name!r}")


__all__ = [
    "CHART_NAMES",
    "ChartFormat",
    "activity_chart",
    "chart_description",
    "creep_chart",
    "date_ticks",
    "portfolio_chart",
    "render_chart",
    "revisions_chart",
    "weekly_activity",
]
