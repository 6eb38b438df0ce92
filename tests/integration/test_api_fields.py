"""Every field of the job and notification forms, refused by a real node's API with a
typed error that names it (README "Dashboard": forms; specs/0012 §1). The page checks
the same fields first (tests/browser); this walks each bad value through the API a
user or a script could send, one field at a time, from a good request.

A field the request model already refuses is a 422 `decode.bad-request` naming
`body.<field>`; one the record's rules refuse is `misuse.bad-job` (or the settings'
own codes) naming `<field>`; a step's, bid's or counter's fields are checked before
whose turn it is, so the field is named in any state of the job."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.browser.test_dashboard import start_lab

pytestmark = pytest.mark.integration

SOON_MS = int((datetime.now(UTC) + timedelta(days=20)).timestamp() * 1000)
OFFER: dict[str, Any] = {
    "title": "Hinges", "design": None, "sealed": True, "process": "3dp-fdm",
    "material": "PLA", "quantity": 2, "deadline_ms": SOON_MS, "radius_km": 50,
    "location": {"lat_microdeg": 41_400_000, "lon_microdeg": 2_190_000},
}  # fmt: skip
PRICE = {"amount_minor": 4200, "currency": "EUR"}
BID = {"price": PRICE, "ready_ms": SOON_MS, "note": ""}
BAD_JOB, BAD_REQUEST, BAD_ID = "misuse.bad-job", "decode.bad-request", "decode.bad-id"
SETTING, ADDRESS = "misuse.bad-notify-setting", "misuse.bad-email-address"
URL = "misuse.bad-webhook-url"
LAT, LON = "location.lat_microdeg", "location.lon_microdeg"

#: (field, bad value, code, field named): the offer (specs/0007 §2.1).
OFFER_CASES: list[tuple[str, Any, str, str]] = [
    ("title", "", BAD_JOB, "title"),
    ("title", "x" * 201, BAD_JOB, "title"),
    ("title", " padded", BAD_JOB, "title"),
    ("title", "two\nlines", BAD_JOB, "title"),
    ("title", 7, BAD_REQUEST, "body.title"),
    ("design", "not-an-id", BAD_ID, "design"),
    ("process", "laser-welding", BAD_JOB, "process"),
    ("material", "", BAD_JOB, "material"),
    ("material", "m" * 65, BAD_JOB, "material"),
    ("quantity", 0, BAD_JOB, "quantity"),
    ("quantity", 1_000_001, BAD_JOB, "quantity"),
    ("quantity", "two", BAD_REQUEST, "body.quantity"),
    ("deadline_ms", -1, BAD_JOB, "deadline_ms"),
    ("deadline_ms", 1_000, "job.bad-offer", "deadline_ms"),
    ("location", {"lat_microdeg": 90_000_001, "lon_microdeg": 0}, BAD_JOB, LAT),
    ("location", {"lat_microdeg": 0, "lon_microdeg": -180_000_001}, BAD_JOB, LON),
    ("radius_km", 0, BAD_JOB, "radius_km"),
    ("radius_km", 20_039, BAD_JOB, "radius_km"),
    ("budget", {"amount_minor": -1, "currency": "EUR"}, BAD_JOB, "budget.amount_minor"),
    ("budget", {"amount_minor": 1, "currency": "eur"}, BAD_JOB, "budget.currency"),
    ("budget", {"amount_minor": 1}, BAD_REQUEST, "body.budget.currency"),
    ("tolerance", "tight", BAD_JOB, "tolerance"),
    ("ttl_s", 5, BAD_JOB, "ttl_s"),
    ("ttl_s", 10**9, BAD_JOB, "ttl_s"),
    ("note", "n" * 2001, BAD_JOB, "note"),
    ("note", "bell\x07", BAD_JOB, "note"),
]  # fmt: skip

#: A bid and a counter-offer (§2.2): the same fields.
PRICE_CASES: list[tuple[str, Any, str, str]] = [
    ("price", {"amount_minor": -5, "currency": "EUR"}, BAD_JOB, "price.amount_minor"),
    ("price", {"amount_minor": 2**53, "currency": "EUR"}, BAD_JOB, "price.amount_minor"),
    ("price", {"amount_minor": 5, "currency": "EU"}, BAD_JOB, "price.currency"),
    ("price", {"amount_minor": 5.5, "currency": "EUR"}, BAD_REQUEST, "body.price.amount_minor"),
    ("ready_ms", -1, BAD_JOB, "ready_ms"),
    ("note", "n" * 2001, BAD_JOB, "note"),
    ("note", " padded", BAD_JOB, "note"),
]  # fmt: skip

#: Steps (§3) with their fields, checked before whose turn it is.
STEP_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("award", {"bid": "zz"}, BAD_ID, "bid"),
    ("award", {}, BAD_JOB, "bid"),
    ("cancel", {"reason": "r" * 2001}, BAD_JOB, "reason"),
    ("ship", {"tracking": "t" * 201}, BAD_JOB, "tracking"),
    ("dispute", {"reason": ""}, BAD_JOB, "reason"),
    ("dispute", {"reason": "warped", "evidence": ["zz"]}, BAD_ID, "evidence"),
    ("refund", {"note": "n" * 2001}, BAD_JOB, "note"),
    ("review", {"score": 0, "text": ""}, BAD_JOB, "score"),
    ("review", {"score": 6, "text": ""}, BAD_JOB, "score"),
    ("review", {"text": "no score"}, BAD_JOB, "score"),
    ("review", {"score": 4, "text": "t" * 2001}, BAD_JOB, "text"),
    ("review", {"score": "four"}, BAD_REQUEST, "body.score"),
]  # fmt: skip

#: A message (§2.5).
MESSAGE_CASES: list[tuple[dict[str, Any], str, str]] = [
    ({"text": ""}, BAD_REQUEST, "body.text"),
    ({"text": "m" * 4001}, BAD_REQUEST, "body.text"),
    ({"text": "hello", "to": "zz"}, BAD_ID, "to"),
    ({"text": "hello", "paths": ["p"] * 9}, BAD_REQUEST, "body.paths"),
]  # fmt: skip

SMTP = {"host": "smtp.example.org", "port": 587, "security": "starttls",
        "from_addr": "node@lab.example", "to": ["ops@lab.example"]}  # fmt: skip
HOOK = {"url": "https://hooks.example.org/fab", "secret": "s" * 16}
#: Notification settings (README "Notifications"): (settings, code, field named).
SETTINGS_CASES: list[tuple[dict[str, Any], str, str]] = [
    ({"radius_km": 0}, BAD_REQUEST, "body.radius_km"),
    ({"radius_km": 20_039}, BAD_REQUEST, "body.radius_km"),
    ({"kinds": ["job-gossip"]}, BAD_REQUEST, "body.kinds.0"),
    ({"language": "tlh"}, SETTING, "language"),  # no catalog (README "Languages")
    ({"language": "e"}, BAD_REQUEST, "body.language"),
    ({"smtp": {**SMTP, "host": "bad host"}}, SETTING, "smtp.host"),
    ({"smtp": {**SMTP, "port": 0}}, BAD_REQUEST, "body.smtp.port"),
    ({"smtp": {**SMTP, "port": 65_536}}, BAD_REQUEST, "body.smtp.port"),
    ({"smtp": {**SMTP, "security": "tls"}}, BAD_REQUEST, "body.smtp.security"),
    ({"smtp": {**SMTP, "user": "lab", "security": "none"}}, SETTING, "smtp.security"),
    ({"smtp": {**SMTP, "from_addr": "nobody"}}, ADDRESS, "smtp.from_addr"),
    ({"smtp": {**SMTP, "to": ["ops@lab.example", "nobody"]}}, ADDRESS, "smtp.to.1"),
    ({"smtp": {**SMTP, "to": []}}, BAD_REQUEST, "body.smtp.to"),
    ({"webhooks": [{**HOOK, "url": "ftp://hooks.example/fab"}]}, URL, "webhooks.0.url"),
    ({"webhooks": [HOOK, {**HOOK, "url": "http://:80/x"}]}, URL, "webhooks.1.url"),
    ({"webhooks": [{**HOOK, "secret": "short"}]}, SETTING, "webhooks.0.secret"),
    ({"webhooks": [{"url": HOOK["url"]}]}, SETTING, "webhooks.0.secret"),
    ({"webhooks": [HOOK, HOOK]}, SETTING, "webhooks"),
    ({"webhooks": [{**HOOK, "events": ["job-gossip"]}]}, BAD_REQUEST, "body.webhooks.0.events.0"),
    ({"webhooks": [HOOK] * 9}, BAD_REQUEST, "body.webhooks"),
]  # fmt: skip


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with ExitStack() as stack:
        yield start_lab(stack, tmp_path_factory.mktemp("fields"), "customer")


def refused(node: dict[str, Any], method: str, path: str, body: Any) -> tuple[str, str]:
    headers = {"Authorization": f"Bearer {node['token']}"}
    got = requests.request(method, node["url"] + path, json=body, headers=headers, timeout=30)
    assert 400 <= got.status_code < 500, (path, body, got.status_code, got.text)
    error = got.json()["error"]
    return error["code"], error.get("field")


def test_every_offer_field(node: dict[str, Any]) -> None:
    for field, value, code, named in OFFER_CASES:
        assert refused(node, "POST", "/api/v1/jobs", {**OFFER, field: value}) == (code, named)


def test_every_bid_counter_step_and_message_field(node: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {node['token']}"}
    made = requests.post(node["url"] + "/api/v1/jobs", json=OFFER, headers=headers, timeout=30)
    assert made.status_code == 201, made.text
    job = made.json()["entry_id"]
    for field, value, code, named in PRICE_CASES:
        body = {**BID, field: value}
        assert refused(node, "POST", f"/api/v1/jobs/{job}/bids", body) == (code, named)
        path = f"/api/v1/jobs/{job}/bids/{job}/counter"
        assert refused(node, "POST", path, body) == (code, named)
    for action, body, code, named in STEP_CASES:
        got = refused(node, "POST", f"/api/v1/jobs/{job}/steps/{action}", body)
        assert got == (code, named), (action, body)
    twice = {"reason": "warped", "evidence": [job, job]}
    got = refused(node, "POST", f"/api/v1/jobs/{job}/steps/dispute", twice)
    assert got == (BAD_JOB, "evidence")
    for body, code, named in MESSAGE_CASES:
        assert refused(node, "POST", f"/api/v1/jobs/{job}/messages", body) == (code, named)
    files = {"blobs": ["zz"]}
    assert refused(node, "POST", f"/api/v1/jobs/{job}/files", files) == (BAD_ID, "blobs")


def test_every_notification_setting(node: dict[str, Any]) -> None:
    for settings, code, named in SETTINGS_CASES:
        got = refused(node, "PUT", "/api/v1/notifications/settings", settings)
        assert got == (code, named), settings
    headers = {"Authorization": f"Bearer {node['token']}"}
    kept = requests.get(node["url"] + "/api/v1/notifications/settings", headers=headers, timeout=30)
    assert kept.json()["webhooks"] == [] and kept.json()["smtp"] is None  # nothing was saved
