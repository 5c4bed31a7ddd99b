"""Benchmark: what keeping every label inside the chart costs (``report.charts._fit_inside``).

The charts of one athlete page (weekly series over two years, daily load, the n-of-1 forest plot,
an RFD chart) are drawn to SVG with the fit pass and with it switched off, alternating, in the
same run; the figure printed is the ratio (fit / no fit) of the median page time, so it compares
across machines. Standalone: ``python benchmarks/bench_charts.py`` (< 1 min).
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from report import charts  # noqa: E402

ROUNDS = 5


def _page() -> None:
    weeks = [(dt.date(2024, 1, 1) + dt.timedelta(weeks=i)).isoformat() for i in range(104)]
    days = [(dt.date(2024, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(728)]
    for k in range(4):
        charts.series_chart(
            f"Weekly proxy {k}",
            weeks,
            [1.0 + 0.01 * (i % 7) for i in range(104)],
            ylabel="m/min per bpm",
            band=(0.98, 1.02),
            baseline_end=weeks[8],
        )
    charts.load_chart(
        days,
        [50.0 + i % 30 for i in range(728)],
        [60.0 + i % 11 for i in range(728)],
        [-10.0 + i % 9 for i in range(728)],
    )
    charts.interval_chart(
        "forest",
        [
            "efficiency factor proxy (grade-adjusted m/min per bpm)",
            "HR at the reference speed (proxy)",
            "speed per W/kg (Stryd running-effectiveness proxy)",
        ],
        [4.7, -6.1, 0.4],
        [2.7, -7.5, -0.2],
        [6.8, -4.6, 1.0],
        xlabel="change, %",
    )
    charts.rfd_chart(
        "back_squat",
        [
            {
                "date": w,
                "load_kg": load,
                "peak_rfd_median_n_per_s": 3000.0 - load,
                "rfd_0_100ms_median_n_per_s": 800.0 - load,
            }
            for w in weeks[:30]
            for load in (60.0, 80.0, 100.0)
        ],
    )


def main() -> int:
    fit = charts._fit_inside
    with_fit: list[float] = []
    without: list[float] = []
    _page()  # warm-up (font cache, imports)
    for _ in range(ROUNDS):
        for on in (True, False):
            charts._fit_inside = fit if on else (lambda fig, **kw: None)
            t0 = time.perf_counter()
            _page()
            (with_fit if on else without).append(time.perf_counter() - t0)
    charts._fit_inside = fit
    a, b = statistics.median(with_fit), statistics.median(without)
    print(
        f"charts of one page, median of {ROUNDS}: {b:.3f} s without the fit pass (baseline), "
        f"{a:.3f} s with it: ratio {a / b:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
