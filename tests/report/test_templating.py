"""The pages' Jinja2 environment (report/templating.py): autoescape in text and attributes, control
characters made visible, data never compiled as a template, undefined names are errors, charts the
only markup let through, the Content-Security-Policy kept, a clinic's --templates folder over the
package's. The browser check of a whole report built from hostile strings is test_hostile_input.py."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import jinja2
import pytest
from markupsafe import Markup

from report import charts, sections
from report.build import render_files
from report.templating import (
    CSP,
    PACKAGE_TEMPLATES,
    TemplateDirError,
    chart_markup,
    environment,
    render_macro,
    render_page,
)
from tests.report.html_tags import parse_html as _parse
from tests.report.report_testdata import HOSTILE

ROOT = Path(__file__).resolve().parents[2]


def _doc() -> dict:
    """A small report document: one athlete, no analysis (the page's sections all say so)."""
    rep = {
        "athlete": "alice",
        "page": "athlete-alice.html",
        "simulated": {},
        "counts": {"runs": 1},
        "data_health": {},
        "runs": [],
        "barbell_reps": [],
        "summary": {},
    }
    return {"generated_at": "2026-03-01T07:30:00Z", "since": None, "last_nightly": None, "athletes": [rep]}


def test_values_are_escaped_in_text_and_attributes():
    html = render_macro("cell", {"href": 'x" onmouseover="alert(1)', "text": HOSTILE})
    assert html == ('<td><a href="x&#34; onmouseover=&#34;alert(1)">&lt;script&gt;alert(1)&lt;/script&gt;</a></td>')
    # single-quote attribute breakers too
    assert "&#39;" in render_macro("cell", {"href": "x' onmouseover='y", "text": "t"})


def test_every_template_but_the_style_sheet_autoescapes():
    env = environment()
    names = env.list_templates()
    assert {
        "base.html.j2",
        "index.html.j2",
        "athlete.html.j2",
        "macros.html.j2",
        "report.css",
        "sections/linkage.html.j2",
    } <= set(names)
    assert [n for n in names if not env.autoescape(n)] == ["report.css"]
    assert env.autoescape("a-new-template.txt")  # a name nobody thought of escapes too


def test_no_template_marks_a_value_safe():
    """The chart SVGs are the one markup path (chart_markup); no template opts out of escaping."""
    for path in PACKAGE_TEMPLATES.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert not re.search(r"\|\s*safe\b|autoescape\s+false|\|\s*forceescape", text), path
    makers = [p.relative_to(ROOT).as_posix() for p in (ROOT / "report").glob("*.py") if "Markup(" in p.read_text()]
    assert makers == ["report/templating.py"]
    assert (ROOT / "report" / "templating.py").read_text().count("Markup(") == 2  # CSP_META and chart_markup


def test_control_characters_are_visible_and_data_is_not_a_template():
    html = render_macro("cell", "\x1b[31mred\x1b[0m {{ 7*7 }} {% if 1 %}x{% endif %}")
    assert "\x1b" not in html
    assert html == '<td class="long">\\x1b[31mred\\x1b[0m {{ 7*7 }} {% if 1 %}x{% endif %}</td>'


def test_an_undefined_name_is_an_error_not_a_blank():
    with pytest.raises(jinja2.UndefinedError, match="'simulated' is undefined"):
        render_page("athlete.html.j2", {"title": "t"})


def test_charts_are_the_only_markup_let_through():
    svg = charts.lv_profile_chart(HOSTILE, [60.0, 80.0, 100.0], [1.0, 0.8, 0.6])
    assert isinstance(svg, charts.ChartSvg)
    assert isinstance(chart_markup(svg), Markup)
    for not_a_chart in ('<svg onload="alert(1)"></svg>', Markup("<svg></svg>")):
        with pytest.raises(TypeError, match="ChartSvg"):
            chart_markup(not_a_chart)
    p = _parse(render_macro("figure", sections.figure(svg, f"caption {HOSTILE}")))
    assert [t for t, _ in p.tags if t in ("svg", "script")] == ["svg"]
    text = "".join(p.text)
    assert f"Load-velocity profile: {HOSTILE}" in text and f"caption {HOSTILE}" in text


def test_chart_text_is_drawn_as_written():
    """Mathtext off (``$\\frac{$`` in a label made matplotlib raise) and control characters visible in
    the SVG's title and drawn labels (an ESC was a missing glyph with a warning)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svg = charts.interval_chart(
            "t \x1b[31m", ["a $\\frac{$ b \x1b[31m", "$x^2$"], [1.0, 2.0], [0.0, 1.0], [2.0, 3.0], xlabel="x $y$"
        )
    assert "\x1b" not in svg
    assert re.search(r"<title[^>]*>t \\x1b\[31m</title>", svg)


def test_pages_keep_the_csp_and_are_self_contained():
    files = render_files(_doc())
    for name in ("index.html", "athlete-alice.html"):
        html = files[name]
        assert html.startswith('<!DOCTYPE html>\n<html lang="en">')
        p = _parse(html)
        metas = [a for t, a in p.tags if t == "meta"]
        assert {"http-equiv": "Content-Security-Policy", "content": CSP} in metas
        assert [t for t, _ in p.tags if t in ("script", "link", "img", "iframe", "object", "embed", "base")] == []
        assert html.count("<style>") == 1  # (matplotlib's own in the charts are <style type="text/css">)
        # the style sheet is included as written (not escaped: a quote stays a quote inside <style>)
        assert 'font: 16px/1.5 system-ui, -apple-system, "Segoe UI"' in html
    assert json.loads(files["report.json"]) == _doc()


def test_a_clinic_restyles_with_its_own_templates(tmp_path):
    own = tmp_path / "clinic"
    own.mkdir()
    css = (PACKAGE_TEMPLATES / "report.css").read_text().replace("#0072B2", "#6a0dad")
    (own / "report.css").write_text(css)
    (own / "index.html.j2").write_text(
        (PACKAGE_TEMPLATES / "index.html.j2")
        .read_text()
        .replace("<h1>runstrong report</h1>", "<h1>Clinic Nord: {{ title }}</h1>")
    )
    files = render_files(_doc(), templates_dir=own)
    assert "border-bottom: 2px solid #6a0dad" in files["athlete-alice.html"]
    assert "#0072B2;" not in files["athlete-alice.html"].split("</style>")[0]
    assert "<h1>Clinic Nord: runstrong report</h1>" in files["index.html"]
    assert "<h1>Athlete alice</h1>" in files["athlete-alice.html"]  # the package's athlete template
    assert files["report.json"] == render_files(_doc())["report.json"]


def test_a_template_that_drops_the_csp_or_fails_is_refused(tmp_path):
    own = tmp_path / "clinic"
    own.mkdir()
    base = (PACKAGE_TEMPLATES / "base.html.j2").read_text()
    assert '<meta http-equiv="Content-Security-Policy" content="{{ csp }}">' in base
    (own / "base.html.j2").write_text(
        base.replace('<meta http-equiv="Content-Security-Policy" content="{{ csp }}">', "")
    )
    with pytest.raises(TemplateDirError, match="Content-Security-Policy"):
        render_files(_doc(), templates_dir=own)
    (own / "base.html.j2").write_text(base.replace("<title>{{ title }}", "<title>{{ no_such_name }}"))
    with pytest.raises(TemplateDirError, match="no_such_name"):
        render_files(_doc(), templates_dir=own)
    (own / "base.html.j2").write_text(base.replace("{% endblock %}", "{% endblok %}"))
    with pytest.raises(TemplateDirError, match=r"base\.html\.j2, line \d+"):
        render_files(_doc(), templates_dir=own)
    with pytest.raises(TemplateDirError, match="does not exist"):
        render_files(_doc(), templates_dir=tmp_path / "missing")


def test_the_wheel_carries_every_template():
    """Every file under report/templates matches a package-data glob of pyproject.toml (an installed wheel
    would otherwise lack it)."""
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = conf["tool"]["setuptools"]["package-data"]["report"]
    files = {p for p in PACKAGE_TEMPLATES.rglob("*") if p.is_file()}
    carried = {p for g in globs for p in (ROOT / "report").glob(g)}  # setuptools globs them like this
    assert len(files) >= 12
    assert sorted(files - carried) == []
