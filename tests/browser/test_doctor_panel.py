"""The Node page's Reachability panel in a real browser (specs/0014 §6, README "Joining
from behind NAT"): three real nodes on loopback; the panel of B shows its dial-back
status once two peers reached it, its connections as direct, and the advice."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_dashboard import ARTIFACTS, browser, open_dashboard, start_lab  # noqa: F401
from tests.node_process import api, wait_until

pytestmark = pytest.mark.integration


def test_the_reachability_panel_shows_the_doctors_report(
    tmp_path: Path,
    browser: Any,  # noqa: F811
) -> None:
    with ExitStack() as stack:
        a = start_lab(stack, tmp_path, "a")
        b = start_lab(stack, tmp_path, "b", "--bootstrap", a["listen"][0])
        start_lab(stack, tmp_path, "c", "--bootstrap", a["listen"][0])
        wait_until(
            "b reached by two peers",
            lambda: api(b["home"], "GET", "/api/v1/doctor")["reachability"] == "public",
        )
        page = open_dashboard(browser, b, "node")
        page.wait_for_selector("#doctor-status[data-status=public]", timeout=60_000)
        page.wait_for_selector("#doctor-advice li:has-text('loopback only')")
        peer_a = a["listen"][0].split("/p2p/")[1]
        row = page.locator(f"#doctor-connections tr:has(code[title='{peer_a}'])")
        assert row.locator("td").nth(1).inner_text() == "direct"
        assert "127.0.0.1:" in row.locator("td").nth(2).inner_text()
        assert "UPnP: not tried" in page.locator("#doctor").inner_text()
        assert page.locator("#doctor-upnp").get_attribute("data-code") == "off"
        page.screenshot(path=str(ARTIFACTS / "node-reachability.png"), full_page=True)
        assert page.errors == []
