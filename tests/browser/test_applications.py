"""Admission in a real browser: a lab that is not a member applies (CLI, on its own
node); a member's Governance page lists the application with its vouches and warns
that they fall short of the rules; the member vouches and proposes the admission
from the page, and the open vote says it would pass void without more vouches; a
rules change proposed in the page is refused beside its fields first
(README "Governance", specs/0008 §3.1). Screenshots go to the test's tmp folder."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.browser.forms import refused_here
from tests.browser.test_dashboard import (  # noqa: F401 (browser: a fixture)
    browser,
    open_dashboard,
    start_federation,
)
from tests.cli_helpers import fabnode
from tests.node_process import api, running_node

pytestmark = pytest.mark.integration


def test_an_application_vouched_and_proposed_in_the_page(
    tmp_path: Path,
    browser: Any,  # noqa: F811
) -> None:
    with ExitStack() as stack:
        a, _, _ = start_federation(stack, tmp_path, ["lab-a", "lab-b", "lab-c"])
        network = api(a["home"], "GET", "/api/v1/status")["network"]["id"]
        boot = a["listen"][0]
        d = tmp_path / "lab-d"
        assert fabnode("init", home=d)[0] == 0
        status, joined = fabnode("join", network, "--bootstrap", boot, home=d)
        assert status == 0, joined
        stack.enter_context(running_node(d, "--bootstrap", boot))
        status, applied = fabnode("member", "apply", "--name", "Lab D", "--text", "in Lyon", home=d)
        assert status == 0, applied
        candidate = applied["identity"]

        page = open_dashboard(browser, a, "governance")
        card = f"li.application[data-identity='{candidate}']"
        page.wait_for_selector(card, timeout=120_000)  # relayed to the members
        assert "Lab D" in page.inner_text(f"{card} h3")
        page.wait_for_selector(f"{card} .warning:has-text('Too few vouches')")
        page.click(f"{card} button[data-act=vouch]")
        page.wait_for_selector(f"{card} .vouches:has-text('1 of 2')", timeout=60_000)
        page.click(f"{card} button[data-act=admit]")
        page.wait_for_selector(f"{card} [data-act=admission-open]", timeout=60_000)
        vote = "li.proposal:has-text('Admit Lab D')"
        page.wait_for_selector(f"{vote} .warning:has-text('passes void')")
        page.screenshot(path=str(tmp_path / "applications.png"), full_page=True)
        members = api(a["home"], "GET", "/api/v1/governance/members")
        [application] = [x for x in members["applications"] if x["identity"] == candidate]
        assert application["vouched_by"] == [api(a["home"], "GET", "/api/v1/identity")["identity"]]

        # A rules change from the page: refused beside its fields first, nothing sent.
        page.click("#propose-form >> xpath=.. >> summary")
        page.select_option("#prop-rule", "job_offer_ttl_s")
        propose = "#propose-form button[type=submit]"
        page.fill("#prop-value", "two weeks")
        assert "whole number" in refused_here(page, propose, "#prop-value")
        page.fill("#prop-value", "1209600")
        assert refused_here(page, propose, "#prop-title") == "Required."
        page.fill("#prop-title", "Two-week offers")
        page.click(propose)
        page.wait_for_selector("li.proposal:has-text('Two-week offers')", timeout=60_000)
        assert page.errors == []
