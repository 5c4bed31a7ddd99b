"""Where the tests find the repository and its sample data (independent of a test's depth)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_FIT = REPO_ROOT / "sample_data" / "fit"
