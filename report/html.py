"""HTML templating with escaping by default.

Every value that reaches a page goes through :func:`esc` unless it is a :class:`Safe` string
produced by this module (an element built by :func:`el`) or a chart SVG from
:mod:`report.charts` wrapped with :func:`trusted_svg`. Activity names, file paths, exclusion
reasons, exercise names and everything else from a FIT file or a user are therefore escaped,
in text and in attributes alike.

Pages are self-contained: CSS inline, charts inline, no script, nothing fetched from a
network (a Content-Security-Policy meta tag forbids it, so a browser refuses even by mistake).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "CSS",
    "Safe",
    "el",
    "esc",
    "fmt",
    "join",
    "page",
    "table",
    "trusted_svg",
]


class Safe(str):
    """A string that is already HTML (escaped or built here): inserted as is."""

    __slots__ = ()


def esc(value: Any) -> Safe:
    """Escape ``value`` for HTML text or a quoted attribute (``& < > " '``). ``None`` -> empty."""
    if isinstance(value, Safe):
        return value
    if value is None:
        return Safe("")
    return Safe(html.escape(str(value), quote=True))


def join(parts: Iterable[Any], sep: str = "") -> Safe:
    return Safe(esc(sep).join(esc(p) for p in parts))


_VOID = {"meta", "br", "hr", "img", "link", "input"}


def el(tag: str, *children: Any, **attrs: Any) -> Safe:
    """``<tag attrs>children</tag>``; children and attribute values are escaped unless Safe.

    Attribute names: a trailing underscore is dropped (``class_``), other underscores become
    dashes (``aria_label``). ``True`` gives a bare attribute, ``None``/``False`` omits it.
    """
    parts = [tag]
    for k, v in attrs.items():
        if v is None or v is False:
            continue
        name = k.rstrip("_").replace("_", "-")
        parts.append(name if v is True else f'{name}="{esc(v)}"')
    open_tag = "<" + " ".join(parts) + ">"
    if tag in _VOID:
        return Safe(open_tag)
    return Safe(open_tag + "".join(esc(c) for c in _flatten(children)) + f"</{tag}>")


def _flatten(children: Iterable[Any]) -> Iterable[Any]:
    for c in children:
        if c is None:
            continue
        if isinstance(c, list | tuple):
            yield from _flatten(c)
        else:
            yield c


def trusted_svg(svg: str) -> Safe:
    """Mark an SVG produced by :mod:`report.charts` (our own matplotlib output) as Safe.

    Chart titles and labels were escaped by matplotlib's SVG writer / :func:`report.charts.to_svg`.
    """
    if not svg.lstrip().startswith("<svg"):
        raise ValueError("trusted_svg expects an <svg> element from report.charts")
    if "<script" in svg.lower():
        raise ValueError("chart SVG must not contain a script element")
    return Safe(svg)


def fmt(value: Any, digits: int = 1, unit: str = "", *, signed: bool = False) -> str:
    """Format a number for display (rounding only): None/NaN -> an em dash "—"."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        s = f"{value:+d}" if signed else f"{value:d}"
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return "—"
        s = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    else:
        return str(value)
    return f"{s} {unit}".rstrip() if unit and unit not in ("%",) else s + unit


def table(headers: Sequence[Any], rows: Iterable[Sequence[Any]], *, caption: Any = None,
          class_: str | None = None) -> Safe:
    """A data table (scrolls sideways on a phone instead of overflowing the page)."""
    head = el("thead", el("tr", [el("th", h, scope="col") for h in headers]))
    body_rows = [el("tr", [el("td", c, class_="nowrap" if _is_date(c) else ("long" if _is_long(c) else None))
                           for c in r]) for r in rows]
    if not body_rows:
        body_rows = [el("tr", el("td", "none", colspan=str(len(headers))))]
    return el("div", el("table", el("caption", caption) if caption is not None else None, head,
                        el("tbody", body_rows), class_=class_), class_="table-wrap")


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}( UTC)?)?")
_VALUE = re.compile(r"[-+]?[\d.,]+ ?[^\s\d]{0,4}")  # "100.0 kg", "-164 N/s", "+4.63 %"


def _is_date(c: Any) -> bool:
    """Dates, times and short values with a unit stay on one line in tables (a date broken as "2026-" /
    "11-23" or "100.0" / "kg" reads badly)."""
    return isinstance(c, str) and not isinstance(c, Safe) and (
        _DATE.fullmatch(c) is not None or (len(c) <= 12 and _VALUE.fullmatch(c) is not None))


def _is_long(c: Any) -> bool:
    """Long text (reasons, readings) gets a minimum width, so a phone's narrow table does not squeeze it
    into a column one word wide (the table scrolls sideways instead)."""
    return isinstance(c, str) and len(c) > 40


def definition_cards(cards: Sequence[Mapping[str, Any]]) -> Safe:
    """Headline cards: ``{"label", "value", "note"}``."""
    return el("div", [
        el("div", el("div", c["label"], class_="card-label"), el("div", c["value"], class_="card-value"),
           el("div", c.get("note"), class_="card-note") if c.get("note") else None, class_="card")
        for c in cards
    ], class_="cards")


# Colours: text #1a1a1a on #ffffff (contrast 17:1), muted #4a4a4a (9:1), links #0b5394 (7.6:1),
# the simulated banner black on #F0E442 (Okabe-Ito yellow, 16:1).
CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: #1a1a1a; background: #ffffff; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; line-height: 1.25; }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; border-bottom: 2px solid #0072B2; padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
a { color: #0b5394; }
a:focus, a:hover { outline: 2px solid #E69F00; outline-offset: 2px; }
p, li { max-width: 44rem; overflow-wrap: anywhere; }
.muted { color: #4a4a4a; font-size: .92rem; }
.banner { background: #F0E442; color: #000; padding: .6rem .8rem; border: 2px solid #000; font-weight: 600;
  margin: .5rem 0 1rem; }
.caveat { background: #f3f6fa; border-left: 4px solid #0072B2; padding: .5rem .8rem; margin: .8rem 0; }
.context { background: #fbf6ec; border-left: 4px solid #E69F00; padding: .5rem .8rem; margin: .8rem 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); gap: .6rem; }
.card { border: 1px solid #8a8a8a; border-radius: 6px; padding: .6rem .7rem; background: #fff; }
.card-label { font-size: .85rem; color: #4a4a4a; }
.card-value { font-size: 1.35rem; font-weight: 700; overflow-wrap: anywhere; }
.card-note { font-size: .8rem; color: #4a4a4a; }
.table-wrap { overflow-x: auto; max-width: 100%; margin: .5rem 0 1rem; }
table { border-collapse: collapse; font-size: .9rem; min-width: 100%; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { border-bottom: 1px solid #bdbdbd; padding: .3rem .5rem; text-align: left; vertical-align: top;
  overflow-wrap: break-word; }
td { max-width: 28rem; }
td.nowrap { white-space: nowrap; }
td.long { min-width: 14rem; }
th { background: #eef2f6; }
figure { margin: .8rem 0 1.2rem; }
figcaption { font-size: .88rem; color: #4a4a4a; }
svg.chart { width: 100%; height: auto; display: block; }
.chart-scroll { overflow-x: auto; max-width: 100%; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: 1rem; }
footer { margin-top: 3rem; font-size: .85rem; color: #4a4a4a; }
@media (max-width: 480px) {
  main { padding: .6rem; }
  h1 { font-size: 1.3rem; }
  .card-value { font-size: 1.15rem; }
  table { font-size: .82rem; }
  svg.chart { min-width: 34rem; }  /* charts at their natural size (540 px) so chart text stays legible;
                                      they scroll sideways inside their own box instead */
}
@media print { a { color: #000; } .banner { border-width: 1px; } }
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def page(title: Any, body: Iterable[Any] | Any, *, lang: str = "en") -> str:
    """A complete, self-contained HTML5 document (inline CSS, viewport meta, strict CSP)."""
    body_parts = body if isinstance(body, list | tuple) else [body]
    return (
        "<!DOCTYPE html>\n"
        + el(
            "html",
            el(
                "head",
                el("meta", charset="utf-8"),
                el("meta", name="viewport", content="width=device-width, initial-scale=1"),
                el("meta", http_equiv="Content-Security-Policy", content=CSP),
                el("meta", name="color-scheme", content="light"),
                el("title", title),
                el("style", Safe(CSS)),
            ),
            el("body", el("main", *body_parts)),
            lang=lang,
        )
        + "\n"
    )
