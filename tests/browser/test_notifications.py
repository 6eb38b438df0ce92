"""Notifications in a real browser: the badge counts a bid as it arrives (live, through
the event stream), the list marks it read; the settings form refuses an ftp:// webhook
URL in the page (nothing sent) and shows the node's typed error beside its field for a
URL only the node refuses; two webhooks, each with its own events, are added, edited
and removed in the page and reach two real HTTP receivers signed with their own
secrets; an SMTP server that accepts and never answers shows in the page's delivery
log while the node keeps answering (README "Notifications"). Screenshots go to the
test's tmp folder."""

from __future__ import annotations

import hashlib
import hmac
import socket
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.forms import refused_here
from tests.browser.test_dashboard import browser, open_dashboard, start_lab  # noqa: F401
from tests.integration.test_notifications import http_receiver
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

        receivers = [stack.enter_context(http_receiver()) for _ in SECRETS]
        silent = socket.create_server(("127.0.0.1", 0))  # accepts, never speaks
        stack.callback(silent.close)
        _refusals_beside_the_fields(page, customer, shots)
        _two_webhooks_and_a_silent_smtp_server(page, [url for _, url in receivers], silent)
        settings = api(customer["home"], "GET", "/api/v1/notifications/settings")
        assert [(w["url"], w["events"], w["secret_set"]) for w in settings["webhooks"]] == [
            (receivers[0][1], ["job-bid"], True),
            (receivers[1][1], ["job-step"], True),
        ]

        # A new bid reaches the first receiver only; a step (the lab starts), the second.
        bid = {"price": {"amount_minor": 3900, "currency": "EUR"}, "ready_ms": deadline_ms - 1}
        bid_id = api(lab["home"], "POST", f"/api/v1/jobs/{job}/bids", bid)["entry_id"]
        wait_until("the bid at the first receiver", lambda: receivers[0][0])
        api(customer["home"], "POST", f"/api/v1/jobs/{job}/steps/award", {"bid": bid_id})
        wait_until("the award at the lab", lambda: _state(lab, job) == "awarded")
        api(lab["home"], "POST", f"/api/v1/jobs/{job}/steps/start", {})
        wait_until("the step at the second receiver", lambda: receivers[1][0])
        for (got, _), secret, kind in zip(receivers, SECRETS, ("job-bid", "job-step"), strict=True):
            for headers, body in got:
                assert headers["x-fabcommons-event"] == kind
                mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
                assert hmac.compare_digest(headers["x-hub-signature-256"], f"sha256={mac}")

        # The silent SMTP server: its attempts time out in the log, its deliveries wait;
        # the node answers meanwhile (the list and the log are read while they wait).
        page.wait_for_selector(
            "#delivery-log tr[data-channel=email][data-outcome=failed]", timeout=60_000
        )
        page.wait_for_selector("#outboxes li[data-channel=email]:not([data-pending='0'])")
        assert "next attempt in" in page.inner_text("#delivery-log tr[data-channel=email]")
        assert api(customer["home"], "GET", "/api/v1/notifications")["notifications"]
        page.screenshot(path=str(shots / "03-two-webhooks-and-a-silent-smtp.png"), full_page=True)

        # Edit in the page: the second webhook removed, the first sent every kind.
        page.click(f"{SECOND} button[data-action=remove-webhook]")
        page.uncheck(f"{FIRST} .webhook-events input[value=job-bid]")
        page.click("#notify-save")
        page.wait_for_selector("#notify-settings-out [role=status]:text('Saved.')")
        settings = api(customer["home"], "GET", "/api/v1/notifications/settings")
        assert [(w["url"], w["events"]) for w in settings["webhooks"]] == [(receivers[0][1], [])]
        page.screenshot(path=str(shots / "04-one-webhook-left.png"), full_page=True)
        assert page.errors == []


SECRETS = ("the-first-receiver-secret", "the-second-receiver-secret")
FIRST = "#webhooks fieldset.webhook:nth-child(1)"
SECOND = "#webhooks fieldset.webhook:nth-child(2)"


def _refusals_beside_the_fields(page: Any, customer: dict[str, Any], shots: Path) -> None:
    """What the page refuses itself (nothing is sent) and what only the node refuses
    (its typed error shown beside the field); nothing is saved."""
    for where, value in (("#notify-radius", "0"), ("#notify-radius", "20039")):
        page.fill(where, value)
        assert "20,038" in refused_here(page, "#notify-save", where)
    page.fill("#notify-radius", "50")
    page.fill("#smtp-host", "smtp.example.org")
    page.fill("#smtp-from", "not-an-address")
    assert "e-mail" in refused_here(page, "#notify-save", "#smtp-from")
    page.fill("#smtp-from", "node@lab.example")
    page.fill("#smtp-to", "ops@lab.example, nobody")
    assert "nobody" in refused_here(page, "#notify-save", "#smtp-to")
    page.fill("#smtp-host", "")  # no e-mail yet
    page.click("#add-webhook")
    page.fill(f"{FIRST} .webhook-url", "ftp://127.0.0.1/hook")
    page.fill(f"{FIRST} .webhook-secret", SECRETS[0])
    assert "http" in refused_here(page, "#notify-save", f"{FIRST} .webhook-url")
    page.fill(f"{FIRST} .webhook-url", "http://:80/hook")  # no host: only the node says so
    page.click("#notify-save")
    page.wait_for_selector(f"{FIRST} .webhook-url[aria-invalid=true]")
    assert "misuse.bad-webhook-url" in page.inner_text(f"{FIRST} .field-error")
    page.screenshot(path=str(shots / "02-read-and-refused-fields.png"), full_page=True)
    page.fill(f"{FIRST} .webhook-url", "https://hooks.example.org/fab")
    page.fill(f"{FIRST} .webhook-secret", "short")
    assert "16" in refused_here(page, "#notify-save", f"{FIRST} .webhook-secret")
    assert api(customer["home"], "GET", "/api/v1/notifications/settings")["webhooks"] == []


def _two_webhooks_and_a_silent_smtp_server(page: Any, urls: list[str], silent: Any) -> None:
    """The first webhook (already in the form) and a second, each with its URL, secret
    and events; a third added and removed again; e-mail through the silent server."""
    for n, (where, url, secret, kind) in enumerate(
        zip((FIRST, SECOND), urls, SECRETS, ("job-bid", "job-step"), strict=True)
    ):
        if n:
            page.click("#add-webhook")
        page.fill(f"{where} .webhook-url", url)
        page.fill(f"{where} .webhook-secret", secret)
        page.check(f"{where} .webhook-events input[value={kind}]")
    page.click("#add-webhook")
    page.fill("#webhooks fieldset.webhook:nth-child(3) .webhook-url", "https://third.example")
    page.click("#webhooks fieldset.webhook:nth-child(3) button[data-action=remove-webhook]")
    assert page.locator("#webhooks fieldset.webhook").count() == 2
    page.fill("#smtp-host", "127.0.0.1")
    page.fill("#smtp-port", str(silent.getsockname()[1]))
    page.select_option("#smtp-security", "none")
    page.fill("#smtp-from", "node@lab.example")
    page.fill("#smtp-to", "ops@lab.example")
    page.click("#notify-save")
    page.wait_for_selector("#notify-settings-out [role=status]:text('Saved.')")


def _state(lab: dict[str, Any], job: str) -> str:
    return str(api(lab["home"], "GET", f"/api/v1/jobs/{job}")["state"])


def _held(lab: dict[str, Any], job: str) -> bool:
    return any(j["id"] == job for j in api(lab["home"], "GET", "/api/v1/jobs")["jobs"])
