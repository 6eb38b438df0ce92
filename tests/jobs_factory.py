"""Job entries for tests: a customer, labs and the bodies of every job kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from protocol import jobs
from protocol.entry import Entry
from tests.factory import Author

TTL_S = 7 * 86_400
DAY_MS = 86_400_000
#: A time 20 days ahead: an offer's deadline a day after it stays in the future.
SOON_MS = int((datetime.now(UTC) + timedelta(days=20)).timestamp() * 1000)


def sealed_offer_json(title: str, quantity: int) -> dict[str, Any]:
    """A sealed offer as the API and `offer_from_json` take it (its files come later)."""
    return {
        "title": title, "sealed": True, "quantity": quantity, "process": "3dp-fdm",
        "material": "PLA", "deadline_ms": SOON_MS + DAY_MS, "radius_km": 50,
        "part": {"size_um": [30_000, 30_000, 8_000], "volume_mm3": 3000},
        "location": {"lat_microdeg": 52_520_000, "lon_microdeg": 13_405_000},
    }  # fmt: skip


def offer_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Bracket, 10 pieces",
        "design": bytes(32),
        "sealed": False,
        "part": {"size_um": [40_000, 20_000, 10_000], "volume_mm3": 4_000},
        "quantity": 10,
        "process": "3dp-fdm",
        "material": "PLA",
        "tolerance": None,
        "deadline_ms": 1_700_000_000_000 + 30 * DAY_MS,
        "location": {"lat_microdeg": 52_520_000, "lon_microdeg": 13_405_000},
        "radius_km": 50,
        "budget": {"amount_minor": 20_000, "currency": "EUR"},
        "ttl_s": TTL_S,
        "note": "",
    }
    body.update(changes)
    return body


def bid_body(job: bytes, amount: int = 15_000) -> dict[str, Any]:
    return {
        "job": job,
        "price": {"amount_minor": amount, "currency": "EUR"},
        "ready_ms": 1_700_000_000_000 + 10 * DAY_MS,
        "note": "",
    }


def step_body(kind: str, job: bytes, after: bytes, **extra: Any) -> dict[str, Any]:
    defaults: dict[str, dict[str, Any]] = {
        jobs.CANCEL: {"reason": ""},
        jobs.SHIP: {"tracking": None},
        jobs.DISPUTE: {"reason": "warped", "evidence": []},
        jobs.REFUND: {"note": ""},
        jobs.REVIEW: {"score": 5, "text": "Great"},
    }
    return {"job": job, "after": after, **defaults.get(kind, {}), **extra}


class JobStory:
    """A customer, two labs, and a helper to sign steps in a chain."""

    def __init__(self) -> None:
        self.customer = Author("customer")
        self.lab_a = Author("lab-a")
        self.lab_b = Author("lab-b")
        self.offer = self.customer.append(jobs.OFFER, offer_body())
        self.entries: list[Entry] = []
        self.head = self.offer.id

    def add(self, author: Author, kind: str, body: dict[str, Any]) -> Entry:
        entry = author.append(kind, body)
        self.entries.append(entry)
        return entry

    def step(self, author: Author, kind: str, **extra: Any) -> Entry:
        entry = self.add(author, kind, step_body(kind, self.offer.id, self.head, **extra))
        self.head = entry.id
        return entry

    def bid(self, lab: Author, amount: int = 15_000) -> Entry:
        return self.add(lab, jobs.BID, bid_body(self.offer.id, amount))

    def happy_path(self) -> None:
        """Two bids, award to lab A, production to review."""
        bid_a = self.bid(self.lab_a)
        self.bid(self.lab_b, 14_000)
        self.step(self.customer, jobs.AWARD, bid=bid_a.id)
        self.step(self.lab_a, jobs.START)
        self.step(self.lab_a, jobs.SHIP)
        self.step(self.lab_a, jobs.DELIVER)
        self.step(self.customer, jobs.CONFIRM)
        self.step(self.customer, jobs.REVIEW, score=4, text="Good")
