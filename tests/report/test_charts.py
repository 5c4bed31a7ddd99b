"""Chart mechanics without a browser: charts over time with fewer than three dates become a sentence or a
small table (the browser tests measure the drawn charts: tests/report/test_browser.py)."""

from __future__ import annotations

from html.parser import HTMLParser

from report import charts, sections
from report.templating import render_macro
from tests.report.report_testdata import HOSTILE


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def _fig(chart, caption, *, values_below=False) -> str:
    """The figure as the pages show it: the view model (report.sections.figure) through the template macro."""
    return render_macro("figure", sections.figure(chart, caption, values_below=values_below))


def _parse(html: str) -> _Text:
    p = _Text()
    p.feed(html)
    return p


def test_series_over_time_needs_three_dates():
    one = charts.series_chart("e1RM", ["2025-03-03", "2025-03-04"], [127.46, None], ylabel="e1RM, kg")
    assert isinstance(one, charts.FewPoints)
    assert one.rows == (("2025-03-03", "e1RM, kg", 127.46),) and one.dates == ["2025-03-03"]
    # two dates, the same date twice in the second series: still two dates
    two = charts.series_chart(
        "t",
        ["2025-03-03", "2025-03-10"],
        [1.0, 2.0],
        ylabel="m/s",
        extra=[("other", ["2025-03-10", "2025-03-10"], [3.0, 4.0])],
    )
    assert isinstance(two, charts.FewPoints) and two.dates == ["2025-03-03", "2025-03-10"]
    three = charts.series_chart("t", ["2025-03-03", "2025-03-10", "2025-03-17"], [1.0, 2.0, 3.0], ylabel="m/s")
    assert isinstance(three, str) and three.startswith("<svg") and 'id="c' in three and "-data-" in three


def test_rfd_and_load_charts_need_three_dates():
    rows = [
        {
            "date": "2025-03-03",
            "load_kg": load,
            "peak_rfd_median_n_per_s": 3000.0 - load,
            "rfd_0_100ms_median_n_per_s": 500.0 - load,
        }
        for load in (60.0, 80.0, 100.0)
    ]
    few = charts.rfd_chart("back_squat", rows)
    assert isinstance(few, charts.FewPoints) and few.dates == ["2025-03-03"]
    assert {(r[1], r[2]) for r in few.rows} == {
        ("peak, 60 kg", 2940.0),
        ("0-100 ms, 60 kg", 440.0),
        ("peak, 80 kg", 2920.0),
        ("0-100 ms, 80 kg", 420.0),
        ("peak, 100 kg", 2900.0),
        ("0-100 ms, 100 kg", 400.0),
    }
    later = [dict(r, date=d) for r in rows for d in ("2025-03-10", "2025-03-17")]
    assert isinstance(charts.rfd_chart("back_squat", rows + later), str)
    load = charts.load_chart(["2025-03-03", "2025-03-04"], [10.0, 11.0], [20.0, 21.0], [-10.0, -10.0])
    assert isinstance(load, charts.FewPoints) and len(load.rows) == 6
    assert isinstance(
        charts.load_chart(["2025-03-03", "2025-03-04", "2025-03-05"], [1.0] * 3, [1.0] * 3, [0.0] * 3), str
    )


def test_one_value_is_a_sentence_two_dates_a_table():
    one = _fig(
        charts.series_chart(f"Estimated 1RM over time: {HOSTILE}", ["2025-03-03"], [127.46], ylabel="e1RM, kg"),
        "n = 1 day.",
    )
    p = _parse(one)
    text = "".join(p.text)
    assert "svg" not in p.tags and "table" not in p.tags and "script" not in p.tags
    assert (
        f"Estimated 1RM over time: {HOSTILE}: e1RM 127.5 kg on 2025-03-03, the only date so far; "
        "a chart over time is drawn from 3 dates on."
    ) in text
    assert "n = 1 day." in text
    two = _fig(
        charts.series_chart("Weekly EF proxy", ["2025-03-03", "2025-03-10"], [1.23456, 1.3], ylabel="m/min per bpm"),
        "n = 2 weeks.",
    )
    p = _parse(two)
    assert "table" in p.tags and "svg" not in p.tags
    cells = [t for t in p.text if t.strip()]
    assert cells[cells.index("date") :] == [
        "date",
        "m/min per bpm",
        "2025-03-03",
        "1.235",
        "2025-03-10",
        "1.3",
        "n = 2 weeks.",
    ]
    rfd = _fig(
        charts.rfd_chart("back_squat", [{"date": "2025-03-03", "load_kg": 60.0, "peak_rfd_median_n_per_s": 3000.0}]),
        "cap",
        values_below=True,
    )
    assert (
        "one date so far (2025-03-03); a chart over time is drawn from 3 dates on. The values are in the table "
        "below." in "".join(_parse(rfd).text)
    )
