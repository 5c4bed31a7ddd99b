"""The pages' Jinja2 environment: templates in ``report/templates``, autoescape, no undefined values.

* Every value a template prints is HTML-escaped (autoescape on for every template but the style
  sheet), in text and in attributes alike, and its control characters are made visible
  (:func:`report.text.visible`, the environment's ``finalize``). ``None`` prints as nothing.
* A name a template uses but was not handed is an error (``StrictUndefined``), never a blank.
* The one path for markup that is not escaped: :func:`chart_markup`, for the SVG charts
  :func:`report.charts.to_svg` serialised (type :class:`report.charts.ChartSvg`; their titles are
  escaped and all other chart text is drawn as paths). Templates use no ``|safe``.
* Pages stay self-contained: CSS inline (``report.css``, included into ``<style>``), charts inline,
  no script, and the Content-Security-Policy meta tag (:data:`CSP`), which :func:`render_page`
  checks every page still carries, so an edited template cannot drop it unnoticed.
* Data is never compiled as a template: names like ``{{ 7*7 }}`` print as written.

A clinic restyles the pages with ``--templates DIR`` (``report`` and ``nightly``): a file in
``DIR`` replaces the package's template of the same name (``report.css``, ``athlete.html.j2``...);
the rest come from the package (docs/report.md).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from report.charts import ChartSvg
from report.text import is_long_text, is_short_value, visible

#: the package's templates (package data: an installed wheel carries them)
PACKAGE_TEMPLATES = Path(__file__).with_name("templates")
#: every page's Content-Security-Policy: nothing is fetched, no script runs; inline CSS and data: images only
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
CSP_META = Markup('<meta http-equiv="Content-Security-Policy" content="{}">').format(CSP)


class TemplateDirError(ValueError):
    """A ``--templates`` folder that does not exist, or whose template fails (a syntax error, a name the
    page does not hand it, a page without the Content-Security-Policy): a one-line message. Nothing is
    written then; the previous report stays."""


def _finalize(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    return visible(value) if isinstance(value, str) else value


@functools.lru_cache(maxsize=8)
def _environment(templates_dir: str | None, _fingerprint: str | None = None) -> jinja2.Environment:
    """One environment per folder and content of its files (``_fingerprint``: an edited template is
    compiled afresh in a long-lived process)."""
    loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("report", "templates")]
    if templates_dir is not None:
        loaders.insert(0, jinja2.FileSystemLoader(templates_dir))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        # escape in every template (.html.j2, and any other name) except the style sheet: CSS is not HTML,
        # and "&#34;" inside <style> would not be a quote
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "j2"), disabled_extensions=("css",), default_for_string=True, default=True
        ),
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.tests["short_value"] = is_short_value
    env.tests["long_text"] = is_long_text
    env.globals["csp"] = CSP
    return env


def environment(templates_dir: Path | str | None = None) -> jinja2.Environment:
    """The environment for the package's templates, or for ``templates_dir`` over them (its files win)."""
    if templates_dir is None:
        return _environment(None)
    d = Path(templates_dir).expanduser()
    if not d.is_dir():
        raise TemplateDirError(f"templates folder {d} does not exist or is not a folder")
    return _environment(str(d.resolve()), templates_fingerprint(d))


def chart_markup(svg: ChartSvg) -> Markup:
    """A chart that :func:`report.charts.to_svg` made, marked as markup for a template (printed as is).

    The only place the pages' HTML takes markup not escaped by the templates; any other type is refused.
    """
    if not isinstance(svg, ChartSvg):
        raise TypeError(f"chart_markup takes a report.charts.ChartSvg, not {type(svg).__name__}")
    if "<script" in svg.lower():  # belt and braces: matplotlib writes none
        raise ValueError("chart SVG must not contain a script element")
    return Markup(svg)


def render_page(name: str, context: Mapping[str, Any], *, templates_dir: Path | str | None = None) -> str:
    """A whole page from template ``name``; refused if it lost the Content-Security-Policy meta tag.

    With ``templates_dir``, a failing template is a :class:`TemplateDirError` naming the file and line;
    the package's own templates failing is a bug and raises Jinja2's error as it is."""
    try:
        page = environment(templates_dir).get_template(name).render(context)
        end = page.find("</head>")
        if CSP_META not in (page[:end] if end >= 0 else ""):
            raise jinja2.TemplateError(
                f"{name}: the page's <head> lost the Content-Security-Policy meta tag {CSP_META} (base.html.j2 has it)"
            )
    except jinja2.TemplateError as exc:
        if templates_dir is None:
            raise
        where = (
            f"{exc.filename or exc.name}, line {exc.lineno}: " if isinstance(exc, jinja2.TemplateSyntaxError) else ""
        )
        raise TemplateDirError(f"templates in {templates_dir}: {where}{exc}") from exc
    return page


def render_macro(name: str, *args: Any, templates_dir: Path | str | None = None) -> str:
    """One macro of ``macros.html.j2`` (a figure, a table) rendered on its own, e.g. for a test."""
    return str(getattr(environment(templates_dir).get_template("macros.html.j2").module, name)(*args))


def templates_fingerprint(templates_dir: Path | str | None) -> str | None:
    """SHA-256 over the names and contents of the files in ``templates_dir`` (None without one), so a
    re-run that reuses an unchanged report (nightly) notices edited templates."""
    if templates_dir is None:
        return None
    d = Path(templates_dir).expanduser()
    h = hashlib.sha256()
    for p in sorted(x for x in d.rglob("*") if x.is_file()):
        h.update(str(p.relative_to(d)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


__all__ = [
    "CSP",
    "PACKAGE_TEMPLATES",
    "TemplateDirError",
    "chart_markup",
    "environment",
    "render_macro",
    "render_page",
    "templates_fingerprint",
]
