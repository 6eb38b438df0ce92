"""Where the tests find the checkout and the shared data beside it."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout
SHARED = ROOT.parent / "shared"  # ../shared: data and vectors beside the checkout
