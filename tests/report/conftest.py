"""The browser-test policy of the report tests (skip with a loud note locally, fail in CI when
Chromium is missing) and the ``browser`` fixture; the ``make_store`` fixture is in tests/conftest.py."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.report.page_visit import Chromium

# ------------------------------------------------------------------------------------------
# Browser policy
# ------------------------------------------------------------------------------------------

_SKIPPED_BROWSER: list[str] = []


def chromium_path() -> str | None:
    """Chromium's binary; ``RUNSTRONG_CHROMIUM=none`` pretends it is missing (to check the skip policy)."""
    if os.environ.get("RUNSTRONG_CHROMIUM", "").lower() == "none":
        return None
    for cand in (
        os.environ.get("RUNSTRONG_CHROMIUM") or None,
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if cand and Path(cand).exists():
            return cand
    return None


def browser_unavailable(reason: str) -> None:
    """Fail under CI=true, else skip and remember it for the loud terminal note."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}: browser tests cannot run")
    _SKIPPED_BROWSER.append(reason)
    pytest.skip(f"{reason}: browser tests SKIPPED")


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        browser_unavailable("Chromium is not installed (apt-get install -y chromium; expected /usr/bin/chromium)")
    return path


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "browser" in getattr(r, "keywords", {})]
    if _SKIPPED_BROWSER or skipped:
        terminalreporter.write_sep("!", "BROWSER TESTS SKIPPED", yellow=True, bold=True)
        terminalreporter.write_line(
            f"{max(len(skipped), 1)} browser test(s) did not run ({'; '.join(sorted(set(_SKIPPED_BROWSER)))}). "
            "The report was NOT checked in a real browser. Install it with: apt-get install -y chromium",
            yellow=True,
        )


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Chromium]:
    """A Chromium driven through Playwright (tests/report/page_visit.py), one per test module."""
    try:
        from tests.report.page_visit import Chromium
    except ImportError as exc:  # playwright comes with the test extra
        browser_unavailable(f"Playwright cannot be imported ({exc}); install the test extra")
    b = Chromium(chromium)
    yield b
    b.close()
