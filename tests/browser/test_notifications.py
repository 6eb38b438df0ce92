"""Notifications in a real browser: the badge counts a bid as it arrives (live, through
the event stream), the list marks it read, the settings form refuses an ftp:// webhook
URL in the page and shows the node's typed error beside its field (README
"Notifications"). Screenshots go to the test's tmp folder."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_dashboard import browser, open_dashboard, start_lab  # noqa: F401
from tests.node_process import api, wait_until

pytestmark = pytest.mark.integration


def test_the_badge_counts_a_bid_and_the_list_marks_it_read(
    tmp_path: Path,
    browser: Any,  # noqa: F811
) -> None:
    shots = tmp_path / "shots"
    shots.mkdir()
    with ExitStack() as stack:
        customer = start_lab(stack, tmp_path, "customer")
        lab = start_lab(stack, tmp_path, "lab", "--bootstrap", customer["listen"][0])
        deadline_ms = int((datetime.now(UTC) + timedelta(days=30)).timestamp() * 1000)
        offer = {
            "title": "Six hinges", "design": None, "sealed": True,
            "part": {"size_um": [40_000, 30_000, 10_000], "volume_mm3": 4000}, "quantity": 6,
            "process": "3dp-fdm", "material": "PLA", "tolerance": None, "deadline_ms": deadline_ms,
            "location": {"lat_microdeg": 52_520_000, "lon_microdeg": 13_405_000},
            "radius_km": 50, "budget": None, "ttl_s": 86_400, "note": "",
        }  # fmt: skip
        job = api(customer["home"], "POST", "/api/v1/jobs", offer)["entry_id"]
        page = open_dashboard(browser, customer, "notifications")
        page.wait_for_selector("#notification-list :text('No notifications yet.')")
        assert page.is_hidden("#notify-badge")

        wait_until("the offer at the lab", lambda: _held(lab, job))
        bid = {"price": {"amount_minor": 4200, "currency": "EUR"}, "ready_ms": deadline_ms - 1}
        api(lab["home"], "POST", f"/api/v1/jobs/{job}/bids", bid)
        page.wait_for_selector("#notify-badge:text('1')", timeout=60_000)
        page.wait_for_selector(".notification[data-kind=job-bid][data-read=no]")
        page.screenshot(path=str(shots / "01-badge-after-a-bid.png"), full_page=True)

        page.click(".notification[data-kind=job-bid] button[data-read]")
        page.wait_for_selector(".notification[data-kind=job-bid][data-read=yes]")
        page.wait_for_selector("#notify-badge", state="hidden")
        assert api(customer["home"], "GET", "/api/v1/notifications")["unread"] == 0

        page.fill("#webhook-url", "ftp://127.0.0.1/hook")
        page.fill("#webhook-secret", "a-webhook-secret-of-some-length")
        page.click("#notify-save")
        page.wait_for_selector("#webhook-url-error:text('http')")
        page.screenshot(path=str(shots / "02-read-and-a-refused-url.png"), full_page=True)
        settings = api(customer["home"], "GET", "/api/v1/notifications/settings")
        assert settings["webhooks"] == []
        assert page.errors == []


def _held(lab: dict[str, Any], job: str) -> bool:
    return any(j["id"] == job for j in api(lab["home"], "GET", "/api/v1/jobs")["jobs"])
