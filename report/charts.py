"""Charts as inline SVG strings (matplotlib, SVG backend). Drawing only: every number plotted is
handed in by the caller (analysis results); nothing here estimates anything.

* Text is drawn as paths (``svg.fonttype = 'path'``), so the SVG needs no font at all: it
  looks the same offline on every device.
* Colours: the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies),
  plus line styles / markers so no series is told apart by colour alone.
* Every chart carries ``role="img"``, a ``<title>`` and a ``<desc>`` for screen readers; element
  ids are prefixed per chart so several charts can share one HTML page.
* ``width``/``height`` attributes are dropped (the ``viewBox`` stays) so CSS scales charts to the
  phone's width.
* Nothing is clipped by the figure's edge: the ``viewBox`` is the figure, and an inline SVG clips to
  it, so :func:`to_svg` measures every artist (tick labels, axis labels, legends) and widens the
  margins until all of them fit (:func:`_fit_inside`). Long category labels are wrapped.
* Charts over time need :data:`MIN_TIME_POINTS` dates: with fewer (one e1RM day, one session of
  RFD medians) a time axis would hold one or two dots, so the chart functions return a
  :class:`FewPoints` with the values instead, for the page to show as a sentence or small table.
  Data lines carry ids ``data-N`` so a check in the browser can count the dates a chart draws.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import itertools
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import matplotlib
import matplotlib.dates as mdates
import matplotlib.ticker
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from report.text import visible

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

#: Okabe & Ito (2008) colour-blind-safe palette
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
INK = "#1a1a1a"
GRID = "#d0d0d0"

_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "path",
    "svg.hashsalt": "runstrong",
    "font.family": "DejaVu Sans",
    "font.size": 11,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "text.color": INK,
    "axes.grid": True,
    "grid.color": GRID,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 72,
    "savefig.dpi": 72,
}

_counter = itertools.count(1)

#: a chart over time is drawn only from this many distinct dates on; below, a :class:`FewPoints`
MIN_TIME_POINTS = 3


class ChartSvg(str):
    """An inline ``<svg>`` that :func:`to_svg` serialised from a matplotlib figure (its only maker).

    Its title and description are escaped, every other text is drawn as paths, and control characters
    are made visible (:func:`report.text.visible`). :func:`report.templating.chart_markup` takes only
    this type as trusted markup for the pages; any other string a template prints is escaped."""

    __slots__ = ()


@dataclass(frozen=True)
class FewPoints:
    """What a chart over time would have shown, when it has fewer than :data:`MIN_TIME_POINTS` dates.

    ``rows`` are ``(date ISO, series label, value)`` in date order; the page shows one value as a
    sentence and more as a small table (drawing a time axis for one or two dots misleads)."""

    title: str
    value_label: str
    rows: tuple[tuple[str, str, float], ...]

    @property
    def dates(self) -> list[str]:
        return sorted({r[0] for r in self.rows})


def _few(
    title: str, value_label: str, series: Sequence[tuple[str, Sequence[tuple[dt.date, float]]]]
) -> FewPoints | None:
    """A :class:`FewPoints` when the series together have fewer than MIN_TIME_POINTS dates, else None."""
    if len({d for _label, pts in series for d, _v in pts}) >= MIN_TIME_POINTS:
        return None
    rows = sorted(((d.isoformat(), label, float(v)) for label, pts in series for d, v in pts), key=lambda r: r[0])
    return FewPoints(title, value_label, tuple(rows))


_gids = itertools.count(1)


def _data_gid() -> str:
    """An id for a data line (``data-N``): the browser check counts the dates drawn per chart by it."""
    return f"data-{next(_gids)}"


def _dates(values: Sequence[str | dt.date | dt.datetime]) -> list[dt.date]:
    out: list[dt.date] = []
    for v in values:
        if isinstance(v, dt.datetime):
            out.append(v.date())
        elif isinstance(v, dt.date):
            out.append(v)
        else:
            out.append(dt.date.fromisoformat(str(v)[:10]))
    return out


def _week_edges(mondays: Sequence[dt.date]) -> list[float]:
    """Bar edges for consecutive weeks as matplotlib date numbers (one filled step patch per series:
    thousands of weeks stay cheap to draw, unlike one rectangle per bar)."""
    nums = mdates.date2num(list(mondays))
    return [*list(nums), float(nums[-1]) + 7.0]


def _fig(width_in: float = 7.5, height_in: float = 3.2) -> tuple[Figure, Axes]:
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width_in, height_in))
        ax = fig.add_subplot(1, 1, 1)
    return fig, ax


def _date_axis(ax: Axes) -> None:
    loc = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))


#: clear space kept between any artist and the figure's edge, in points (1/72 in = 1 SVG unit at 72 dpi)
EDGE_PAD_PT = 3.0


def _fit_inside(fig: Figure, *, pad_pt: float = EDGE_PAD_PT, rounds: int = 4) -> None:
    """Widen the subplot margins until every artist lies ``pad_pt`` inside the figure.

    Measures each axes' tight bounding box (tick labels, axis labels, legends, also those anchored
    outside the axes, and texts) with the Agg renderer, whose text metrics are the SVG path
    glyphs' (the same font file), and moves each margin that is crossed inward by the overlap. Repeated, since narrower axes can get longer tick labels; margins only grow, and
    never so far that the plot area collapses.
    """
    if not fig.axes:
        return
    renderer = FigureCanvasAgg(fig).get_renderer()
    w_pt, h_pt = fig.get_figwidth() * 72.0, fig.get_figheight() * 72.0
    to_pt = 72.0 / fig.dpi
    for _ in range(rounds):
        # the axes' decorations (ticks, tick labels, axis labels, title) plus their legends and texts; the
        # data artists are clipped to the axes anyway, and measuring thousands of points would cost
        boxes = [
            ax.get_tightbbox(renderer, bbox_extra_artists=[a for a in (ax.get_legend(), *ax.texts) if a])
            for ax in fig.axes
        ]
        bb = Bbox.union([b for b in boxes if b is not None])  # display units, origin bottom left
        x0, y0, x1, y1 = bb.x0 * to_pt, bb.y0 * to_pt, bb.x1 * to_pt, bb.y1 * to_pt
        over = (pad_pt - x0, x1 - (w_pt - pad_pt), pad_pt - y0, y1 - (h_pt - pad_pt))
        if max(over) <= 0.05:
            return
        sp = fig.subplotpars
        left = sp.left + max(0.0, over[0]) / w_pt
        right = sp.right - max(0.0, over[1]) / w_pt
        bottom = sp.bottom + max(0.0, over[2]) / h_pt
        top = sp.top - max(0.0, over[3]) / h_pt
        if right - left < 0.15 or top - bottom < 0.1:
            return  # labels longer than the figure: leave the plot usable (the browser check reports the clip)
        fig.subplots_adjust(left=left, right=right, bottom=bottom, top=top)


def _plain_texts(fig: Figure) -> None:
    """Every text artist of ``fig`` drawn as written: control characters visible, a ``$`` a dollar sign
    (no mathtext: a name with two dollar signs would otherwise be parsed as a formula, or fail to)."""
    for t in fig.findobj(Text):
        t.set_parse_math(False)
        s = t.get_text()
        if s and visible(s) != s:
            t.set_text(visible(s))


def to_svg(fig: Figure, *, title: str, desc: str = "", laid_out: bool = False) -> ChartSvg:
    """Serialise ``fig`` to an inline ``<svg>`` element with a title, description and unique ids.

    ``laid_out``: the caller set the subplot margins itself (else they are set from the figure's
    height and number of axes); :func:`_fit_inside` widens them either way."""
    _plain_texts(fig)
    if not laid_out:
        h = fig.get_figheight()
        right = 0.88 if len(fig.axes) > 1 else 0.975
        fig.subplots_adjust(left=0.11, right=right, bottom=min(0.45, 0.5 / h), top=1 - min(0.3, 0.2 / h))
    with matplotlib.rc_context(_RC):
        _fit_inside(fig)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)  # matplotlib's per-glyph comments: bytes, and text
    prefix = f"c{next(_counter)}-"
    svg = re.sub(r'\bid="', f'id="{prefix}', svg)
    svg = svg.replace("url(#", f"url(#{prefix}").replace('xlink:href="#', f'xlink:href="#{prefix}')
    svg = re.sub(r'<svg([^>]*?)\swidth="[^"]*"', r"<svg\1", svg, count=1)
    svg = re.sub(r'<svg([^>]*?)\sheight="[^"]*"', r"<svg\1", svg, count=1)
    tid, did = f"{prefix}title", f"{prefix}desc"
    head = f'<title id="{tid}">{html.escape(visible(title))}</title>'
    if desc:
        head += f'<desc id="{did}">{html.escape(visible(desc))}</desc>'
    labelled = f'role="img" class="chart" aria-labelledby="{tid}{" " + did if desc else ""}"'
    svg = re.sub(r"<svg\b", f"<svg {labelled}", svg, count=1)
    end = svg.index(">", svg.index("<svg")) + 1
    return ChartSvg(svg[:end] + head + svg[end:])


def empty_chart(title: str, message: str) -> ChartSvg:
    fig, ax = _fig(height_in=1.2)
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    return to_svg(fig, title=title, desc=message)


def adherence_chart(
    weeks: Sequence[str],
    sessions: Sequence[int],
    zone_sets: Sequence[int],
    *,
    target_sessions: int = 2,
    meeting: Sequence[int] | None = None,
) -> ChartSvg:
    """Strength sessions per week against the target, sessions meeting the prescription (given), and
    sets in the prescription zone."""
    title = "Strength sessions per week and sets in the prescription zone"
    if not weeks:
        return empty_chart(title, "No strength sessions recorded")
    x = _dates(weeks)
    fig, ax = _fig()
    edges = _week_edges(x)
    ax.stairs(sessions, edges, fill=True, color=OKABE_ITO["sky"], label="sessions (light bars)")
    if meeting is not None:
        ax.stairs(
            meeting,
            edges,
            fill=True,
            color=OKABE_ITO["blue"],
            hatch="//",
            edgecolor="white",
            label="meeting the prescription (dark, hatched)",
        )
    ax.axhline(
        target_sessions,
        color=OKABE_ITO["vermillion"],
        linestyle="--",
        linewidth=1.5,
        label=f"target: {target_sessions} sessions/week",
    )
    ax.set_ylabel("sessions")
    ax.set_ylim(0, max([target_sessions, *sessions]) + 0.6)
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax2 = ax.twinx()
    # dates on x: matplotlib's date converter takes them, its annotations name only numbers and arrays
    ax2.plot(
        x,  # type: ignore[arg-type]
        zone_sets,
        color=OKABE_ITO["orange"],
        marker="o",
        markersize=3,
        linestyle=":",
        label="zone sets (dots)",
    )
    ax2.set_ylabel("sets at 3-5 reps, 80-100 % 5RM")
    ax2.grid(False)
    ax2.spines["right"].set_visible(True)
    _date_axis(ax)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax2.set_ylim(0, max([4, *zone_sets]) * 1.1)
    ax2.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.legend(h1 + h2, l1 + l2, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=9, framealpha=0.9)
    fig.set_figheight(4.2)
    fig.subplots_adjust(left=0.11, right=0.88, bottom=0.32, top=0.96)
    desc = (
        f"{len(weeks)} weeks; sessions per week as light bars, sessions meeting the prescription as dark "
        f"hatched bars, target {target_sessions} as a dashed line, zone sets as dots."
    )
    return to_svg(fig, title=title, desc=desc, laid_out=True)


def volume_chart(weeks: Sequence[str], bilateral_kg: Sequence[float], unilateral_kg: Sequence[float]) -> ChartSvg:
    """Weekly volume load (reps x kg), bilateral and unilateral stacked."""
    title = "Weekly strength volume load, bilateral and unilateral"
    if not weeks:
        return empty_chart(title, "No strength sets recorded")
    x = _dates(weeks)
    fig, ax = _fig()
    edges = _week_edges(x)
    top = [b + u for b, u in zip(bilateral_kg, unilateral_kg, strict=True)]
    ax.stairs(bilateral_kg, edges, fill=True, color=OKABE_ITO["blue"], label="bilateral")
    ax.stairs(
        top,
        edges,
        baseline=bilateral_kg,
        fill=True,
        color=OKABE_ITO["orange"],
        hatch="//",
        edgecolor="white",
        label="unilateral (hatched)",
    )
    ax.set_ylim(bottom=0)
    ax.set_ylabel("volume load, kg (reps x kg)")
    _date_axis(ax)
    ax.legend(loc="upper left", fontsize=9, framealpha=0.9)
    return to_svg(fig, title=title, desc=f"{len(weeks)} weeks of volume load in kg.")


def series_chart(
    title: str,
    dates: Sequence[str],
    values: Sequence[float | None],
    *,
    ylabel: str,
    band: tuple[float, float] | None = None,
    band_label: str | None = None,
    baseline_end: str | None = None,
    extra: Sequence[tuple[str, Sequence[str], Sequence[float | None]]] = (),
    hlines: Sequence[tuple[float, str]] = (),
    desc: str = "",
) -> ChartSvg | FewPoints:
    """Points over time, optionally a horizontal reference band and labelled horizontal dashed lines
    (``hlines``: (value, legend label); lines sharing a label get one legend entry), all given, not
    computed here; with fewer than :data:`MIN_TIME_POINTS` dates a :class:`FewPoints` instead of a
    chart."""
    pts = [(d, v) for d, v in zip(_dates(dates), values, strict=True) if v is not None]
    if not pts:
        return empty_chart(title, "No values to show yet")
    extras = [
        (label, [(d, v) for d, v in zip(_dates(d2), v2, strict=True) if v is not None]) for label, d2, v2 in extra
    ]
    few = _few(title, ylabel, [(ylabel, pts), *extras])
    if few is not None:
        return few
    fig, ax = _fig()
    if band is not None:
        ax.axhspan(
            band[0], band[1], color=OKABE_ITO["sky"], alpha=0.25, linewidth=0, label=band_label or "reference band"
        )
    xs, ys = zip(*pts, strict=True)
    ax.plot(xs, ys, color=OKABE_ITO["blue"], marker="o", markersize=3.5, linewidth=1, label=ylabel, gid=_data_gid())
    markers = itertools.cycle(["s", "^", "D"])
    colours = itertools.cycle([OKABE_ITO["vermillion"], OKABE_ITO["green"], OKABE_ITO["purple"]])
    for label, p2 in extras:
        if p2:
            x2, y2 = zip(*p2, strict=True)
            ax.plot(
                x2,
                y2,
                color=next(colours),
                marker=next(markers),
                markersize=4,
                linewidth=1.5,
                linestyle="--",
                label=label,
                gid=_data_gid(),
            )
    if baseline_end is not None:
        # a date on x: matplotlib's date converter takes it, its annotations name only a number
        ax.axvline(
            _dates([baseline_end])[0],  # type: ignore[arg-type]
            color=INK,
            linestyle=":",
            linewidth=1,
            label="end of baseline",
        )
    seen: set[str] = set()
    for value, label in hlines:
        ax.axhline(
            value, color=OKABE_ITO["orange"], linestyle="--", linewidth=1, label=None if label in seen else label
        )
        seen.add(label)
    ax.set_ylabel(ylabel)
    _date_axis(ax)
    ax.legend(loc="best", fontsize=9, framealpha=0.9)
    return to_svg(fig, title=title, desc=desc or f"{len(pts)} points.")


def rfd_chart(exercise: str, rows: Sequence[dict[str, Any]], *, max_loads: int = 4) -> ChartSvg | FewPoints:
    """Per-session medians of peak RFD (filled markers, solid) and RFD 0-100 ms (hollow, dashed), one
    colour and marker per load (the ``max_loads`` loads with most sessions); values as given by
    :func:`analysis.athlete_summary.rfd_session_medians`. Fewer than :data:`MIN_TIME_POINTS` session
    dates: a :class:`FewPoints`."""
    title = f"Rate of force development per session (median of reps, experimental): {exercise}"
    if not rows:
        return empty_chart(title, "No reps with RFD yet")
    by_load: dict[float | None, list[dict[str, Any]]] = {}
    for r in rows:
        by_load.setdefault(r.get("load_kg"), []).append(r)
    loads = sorted(sorted(by_load, key=lambda x: -len(by_load[x]))[:max_loads], key=lambda x: (x is None, x or 0))
    series: list[tuple[str, list[tuple[dt.date, float]], int, str, bool]] = []
    for k, load in enumerate(loads):
        rr = sorted(by_load[load], key=lambda r: r.get("date") or "")
        lab = "?" if load is None else f"{load:g} kg"
        for key, style, fill, name in (
            ("peak_rfd_median_n_per_s", "-", True, "peak"),
            ("rfd_0_100ms_median_n_per_s", "--", False, "0-100 ms"),
        ):
            pts = [
                (d, r[key]) for d, r in zip(_dates([r["date"] for r in rr]), rr, strict=True) if r.get(key) is not None
            ]
            if pts:
                series.append((f"{name}, {lab}", pts, k, style, fill))
    few = _few(title, "RFD, N/s (median per session)", [(s[0], s[1]) for s in series])
    if few is not None:
        return few
    fig, ax = _fig(height_in=3.6)
    colours = [OKABE_ITO[c] for c in ("blue", "vermillion", "green", "purple")]
    markers = ["o", "s", "^", "D"]
    for label, pts, k, style, fill in series:
        x, y = zip(*pts, strict=True)
        ax.plot(
            x,
            y,
            color=colours[k],
            marker=markers[k],
            markersize=6,
            linestyle=style,
            linewidth=1.2,
            markerfacecolor=colours[k] if fill else "white",
            markeredgewidth=1.5,
            label=label,
            gid=_data_gid(),
        )
    ax.axhline(0.0, color=INK, linewidth=0.8)
    ax.set_ylabel("RFD, N/s (median per session)")
    _date_axis(ax)
    n_entries = len(ax.get_legend_handles_labels()[0])
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=9, framealpha=0.9)
    fig.set_figheight(3.0 + 0.22 * ((n_entries + 1) // 2))
    fig.subplots_adjust(
        left=0.12,
        right=0.975,
        bottom=(0.75 + 0.22 * ((n_entries + 1) // 2)) / fig.get_figheight(),
        top=1 - 0.2 / fig.get_figheight(),
    )
    shown = ", ".join("?" if x is None else f"{x:g} kg" for x in loads)
    return to_svg(
        fig,
        title=title,
        desc=f"{len(rows)} session medians at loads {shown}; filled markers peak RFD, hollow markers RFD 0-100 ms.",
        laid_out=True,
    )


def lv_profile_chart(
    exercise: str,
    loads_kg: Sequence[float],
    velocities_mps: Sequence[float],
    *,
    line_points: Sequence[Sequence[float]] | None = None,
    mvt_mps: float | None = None,
    e1rm_kg: float | None = None,
    point_label: str = "mean concentric velocity, best rep of each set",
) -> ChartSvg:
    """Load-velocity points, the fitted line (two (load, velocity) points evaluated by the analysis)
    and the minimal velocity threshold."""
    title = f"Load-velocity profile: {exercise}"
    if not loads_kg:
        return empty_chart(title, "No barbell reps with velocity yet")
    fig, ax = _fig()
    ax.plot(loads_kg, velocities_mps, linestyle="none", marker="o", color=OKABE_ITO["blue"], label=point_label)
    if line_points:
        (x0, y0), (x1, y1) = line_points[0], line_points[-1]
        ax.plot(
            [x0, x1], [y0, y1], color=OKABE_ITO["vermillion"], linestyle="--", label="individual load-velocity line"
        )
    if mvt_mps is not None:
        ax.axhline(mvt_mps, color=INK, linestyle=":", label=f"minimal velocity threshold {mvt_mps:.2f} m/s")
    if e1rm_kg is not None:
        ax.axvline(e1rm_kg, color=OKABE_ITO["green"], linestyle="-.", label=f"e1RM {e1rm_kg:.1f} kg")
    ax.set_xlabel("load, kg")
    ax.set_ylabel("velocity, m/s")
    ax.legend(loc="best", fontsize=9, framealpha=0.9)
    return to_svg(fig, title=title, desc=f"{len(loads_kg)} reps.")


#: category labels of the interval chart wrap at this many characters (about a third of the chart's width)
LABEL_WRAP_CHARS = 30


def interval_chart(
    title: str,
    labels: Sequence[str],
    estimates: Sequence[float | None],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    *,
    xlabel: str,
    zero_line: bool = True,
    desc: str = "",
) -> ChartSvg:
    """Point estimates with their (given) 90 % intervals, one row each."""
    rows = [
        (lab, e, lo, hi)
        for lab, e, lo, hi in zip(labels, estimates, lows, highs, strict=True)
        if e is not None and lo is not None and hi is not None
    ]
    if not rows:
        return empty_chart(title, "Not estimable with the data so far")
    wrapped = ["\n".join(textwrap.wrap(visible(r[0]), LABEL_WRAP_CHARS, break_on_hyphens=False)) or r[0] for r in rows]
    lines = max(w.count("\n") + 1 for w in wrapped)
    fig, ax = _fig(height_in=max(1.4, (0.25 + 0.2 * lines) * len(rows) + 0.9))
    for i, (_lab, e, lo, hi) in enumerate(rows):
        ax.plot([lo, hi], [i, i], color=OKABE_ITO["blue"], linewidth=2.5, solid_capstyle="butt")
        ax.plot([e], [i], marker="D", color=OKABE_ITO["vermillion"], markersize=7)
    if zero_line:
        ax.axvline(0.0, color=INK, linewidth=1)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(wrapped)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    # the left margin starts small: to_svg widens it to the longest (wrapped) label
    fig.subplots_adjust(left=0.05, right=0.97, bottom=min(0.45, 0.55 / fig.get_figheight()), top=0.95)
    return to_svg(fig, title=title, desc=desc or f"{len(rows)} estimates with 90 % intervals.", laid_out=True)


def load_chart(
    days: Sequence[str], ctl: Sequence[float], atl: Sequence[float], tsb: Sequence[float]
) -> ChartSvg | FewPoints:
    """Running load: CTL (fitness), ATL (fatigue), TSB (form) as given; fewer than
    :data:`MIN_TIME_POINTS` days: a :class:`FewPoints`."""
    title = "Running load from TRIMP: CTL (42-day), ATL (7-day) and TSB"
    if not days:
        return empty_chart(title, "No runs with heart rate and an athlete HR profile")
    x = _dates(days)
    names = ("CTL (fitness)", "ATL (fatigue)", "TSB (form)")
    few = _few(
        title, "TRIMP per day", [(n, list(zip(x, v, strict=True))) for n, v in zip(names, (ctl, atl, tsb), strict=True)]
    )
    if few is not None:
        return few
    fig, ax = _fig()
    # dates on x: matplotlib's date converter takes them, its annotations name only numbers and arrays
    ax.plot(x, ctl, color=OKABE_ITO["blue"], linewidth=2, label=names[0], gid=_data_gid())  # type: ignore[arg-type]
    ax.plot(
        x,  # type: ignore[arg-type]
        atl,
        color=OKABE_ITO["orange"],
        linewidth=1,
        linestyle="--",
        label=names[1],
        gid=_data_gid(),
    )
    ax.plot(
        x,  # type: ignore[arg-type]
        tsb,
        color=OKABE_ITO["green"],
        linewidth=1,
        linestyle=":",
        label=names[2],
        gid=_data_gid(),
    )
    ax.set_ylabel("TRIMP per day")
    _date_axis(ax)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=9, framealpha=0.9)
    fig.set_figheight(3.6)
    fig.subplots_adjust(left=0.11, right=0.975, bottom=0.27, top=0.95)
    return to_svg(fig, title=title, desc=f"{len(days)} days.", laid_out=True)
