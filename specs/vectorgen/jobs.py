"""jobs/derive (specs/0007-jobs.md §5): a job's state from its offer and entries.

Each case builds a story of signed entries (a customer, two labs, an outsider) and
states by hand what §3-§5 say it must give: the state, the awarded lab, the steps in
the order they apply, the entries refused with their codes, the bids' statuses.
Nothing is read back from protocol.jobstate.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from protocol import canonical
from protocol.ids import id_to_text
from specs.vectorgen.common import (
    NETWORK,
    T0_MS,
    Case,
    Identity,
    entry_id,
    error,
    identity,
    ok,
    payload_fields,
    sign_fields,
)

CUSTOMER = identity("job-customer")
LAB_A = identity("job-lab-a")
LAB_B = identity("job-lab-b")
OUTSIDER = identity("job-outsider")
TTL_S = 7 * 86_400
MAX_TTL_S = 7 * 86_400
DAY_MS = 86_400_000


def offer_body(ttl_s: int = TTL_S, deadline_ms: int = T0_MS + 30 * DAY_MS) -> dict[str, Any]:
    return {
        "title": "Bracket",
        "design": bytes(range(32)),
        "sealed": False,
        "part": None,
        "quantity": 4,
        "process": "3dp-fdm",
        "material": "PETG",
        "tolerance": "m",
        "deadline_ms": deadline_ms,
        "location": {"lat_microdeg": 41_396_900, "lon_microdeg": 2_194_200},
        "radius_km": 25,
        "budget": {"amount_minor": 12_000, "currency": "EUR"},
        "ttl_s": ttl_s,
        "note": "",
    }


class Story:
    """Entries signed in the order they are made, one second apart."""

    def __init__(self, ttl_s: int = TTL_S, deadline_ms: int = T0_MS + 30 * DAY_MS) -> None:
        self.clock_ms = T0_MS
        self.logs: dict[bytes, list[bytes]] = {}
        self.entries: list[bytes] = []
        self.offer = self.sign(CUSTOMER, "job.offer", offer_body(ttl_s, deadline_ms), keep=False)
        self.job = entry_id(self.offer)
        self.head = self.job

    def sign(
        self,
        who: Identity,
        kind: str,
        body: dict[str, Any],
        *,
        at_ms: int | None = None,
        keep: bool = True,
    ) -> bytes:
        self.clock_ms += 1000
        log = self.logs.setdefault(who.id, [])
        prev = entry_id(log[-1]) if log else None
        fields = payload_fields(
            signer=who.signing.public,
            seq=len(log) + 1,
            prev=prev,
            kind=kind,
            body=body,
            author=who.id,
            network=NETWORK,
            timestamp_ms=self.clock_ms if at_ms is None else at_ms,
        )
        raw = sign_fields(who.signing, fields)
        log.append(raw)
        if keep:
            self.entries.append(raw)
        return raw

    def bid(self, lab: Identity, **kw: Any) -> bytes:
        body = {
            "job": self.job,
            "price": {"amount_minor": 9_000, "currency": "EUR"},
            "ready_ms": T0_MS + 10 * DAY_MS,
            "note": "",
        }
        return self.sign(lab, "job.bid", body, **kw)

    def step(self, who: Identity, kind: str, *, after: bytes | None = None, **extra: Any) -> bytes:
        at_ms = extra.pop("at_ms", None)
        body = {"job": self.job, "after": self.head if after is None else after, **extra}
        raw = self.sign(who, kind, body, at_ms=at_ms)
        self.head = entry_id(raw)
        return raw

    def case(
        self,
        name: str,
        description: str,
        now_ms: int,
        expect: dict[str, Any],
        entries: list[bytes] | None = None,
    ) -> Case:
        chosen = self.entries if entries is None else entries
        data = {
            "offer_hex": self.offer.hex(),
            "entries_hex": [e.hex() for e in chosen],
            "max_ttl_s": MAX_TTL_S,
            "now_ms": now_ms,
        }
        return Case("jobs", "derive", name, description, data, expect)


def t(raw: bytes) -> str:
    return id_to_text(entry_id(raw))


def want(
    state: str,
    lab: Identity | None,
    steps: list[tuple[str, bytes]],
    refused: tuple[tuple[bytes, str], ...] | list[tuple[bytes, str]] = (),
    bids: tuple[tuple[bytes, str], ...] | list[tuple[bytes, str]] = (),
    messages: list[bytes] | None = None,
) -> dict[str, Any]:
    """The expectation: refused entries and bids are listed by entry id, messages in
    thread order (timestamp_ms, entry id)."""
    return ok(
        state=state,
        lab=None if lab is None else id_to_text(lab.id),
        steps=[{"kind": k, "entry_id": t(raw)} for k, raw in steps],
        refused=[{"entry_id": t(r), "code": c} for r, c in sorted(refused, key=_by_id)],
        bids=[{"entry_id": t(r), "status": st} for r, st in sorted(bids, key=_by_id)],
        messages=[t(raw) for raw in messages or []],
    )


def _by_id(item: tuple[bytes, str]) -> bytes:
    return entry_id(item[0])


NOW = T0_MS + DAY_MS


def cases() -> Iterator[Case]:
    yield from _lifecycle_cases()
    yield from _refusal_cases()
    yield from _time_cases()
    yield from _bid_cases()
    yield from _side_cases()
    yield from _message_cases()
    yield from _order_cases()


def _happy() -> tuple[Story, dict[str, Any]]:
    s = Story()
    bid_a, bid_b = s.bid(LAB_A), s.bid(LAB_B)
    award = s.step(CUSTOMER, "job.award", bid=entry_id(bid_a))
    start = s.step(LAB_A, "job.start")
    ship = s.step(LAB_A, "job.ship", tracking="1Z999")
    deliver = s.step(LAB_A, "job.deliver")
    confirm = s.step(CUSTOMER, "job.confirm")
    review = s.step(CUSTOMER, "job.review", score=5, text="Crisp")
    steps = [
        ("job.award", award),
        ("job.start", start),
        ("job.ship", ship),
        ("job.deliver", deliver),
        ("job.confirm", confirm),
        ("job.review", review),
    ]
    return s, want("reviewed", LAB_A, steps, bids=[(bid_a, "awarded"), (bid_b, "active")])


def _lifecycle_cases() -> Iterator[Case]:
    s, expect = _happy()
    yield s.case(
        "happy-path", "Two bids, award, start, ship, deliver, confirm, review.", NOW, expect
    )
    yield s.case(
        "any-arrival-order",
        "The happy path's entries given in reverse order.",
        NOW,
        expect,
        entries=s.entries[::-1],
    )
    s = Story()
    bid = s.bid(LAB_A)
    award = s.step(CUSTOMER, "job.award", bid=entry_id(bid))
    start = s.step(LAB_A, "job.start")
    ship = s.step(LAB_A, "job.ship", tracking=None)
    dispute = s.step(CUSTOMER, "job.dispute", reason="Warped", evidence=[bytes(32)])
    refund = s.step(LAB_A, "job.refund", note="Sorry")
    review = s.step(CUSTOMER, "job.review", score=1, text="")
    steps = [
        ("job.award", award),
        ("job.start", start),
        ("job.ship", ship),
        ("job.dispute", dispute),
        ("job.refund", refund),
    ]
    yield s.case(
        "dispute-then-refund",
        "A refund ends a dispute; no review after it.",
        NOW,
        want("refunded", LAB_A, steps, [(review, "job.out-of-turn")], [(bid, "awarded")]),
    )
    s = Story()
    bid = s.bid(LAB_A)
    award = s.step(CUSTOMER, "job.award", bid=entry_id(bid))
    start = s.step(LAB_A, "job.start")
    ship = s.step(LAB_A, "job.ship", tracking=None)
    deliver = s.step(LAB_A, "job.deliver")
    confirm = s.step(CUSTOMER, "job.confirm", after=entry_id(ship))
    steps = [
        ("job.award", award),
        ("job.start", start),
        ("job.ship", ship),
        ("job.deliver", deliver),
        ("job.confirm", confirm),
    ]
    yield s.case(
        "deliver-and-confirm-race",
        "Deliver and confirm both follow the ship: both apply, by timestamp.",
        NOW,
        want("confirmed", LAB_A, steps, bids=[(bid, "awarded")]),
    )


def _refusal_cases() -> Iterator[Case]:
    s = Story()
    bid = s.bid(LAB_A)
    award = s.step(CUSTOMER, "job.award", bid=entry_id(bid))
    ship = s.step(LAB_A, "job.ship", tracking=None)
    yield s.case(
        "ship-before-start",
        "The lab ships before production starts.",
        NOW,
        want(
            "awarded",
            LAB_A,
            [("job.award", award)],
            [(ship, "job.out-of-turn")],
            [(bid, "awarded")],
        ),
    )
    s = Story()
    bid = s.bid(LAB_A)
    forged = s.step(LAB_A, "job.award", bid=entry_id(bid))
    yield s.case(
        "award-by-the-lab",
        "A lab awards itself the job.",
        NOW,
        want("open", None, [], [(forged, "job.not-party")], [(bid, "active")]),
    )
    s = Story()
    bid_a, bid_b = s.bid(LAB_A), s.bid(LAB_B)
    award = s.step(CUSTOMER, "job.award", bid=entry_id(bid_a))
    start = s.step(LAB_B, "job.start")
    yield s.case(
        "start-by-another-lab",
        "A lab that was not awarded starts the job.",
        NOW,
        want(
            "awarded",
            LAB_A,
            [("job.award", award)],
            [(start, "job.not-party")],
            [(bid_a, "awarded"), (bid_b, "active")],
        ),
    )
    s = Story()
    own = s.bid(CUSTOMER)
    yield s.case(
        "bid-on-own-offer",
        "The customer bids on its own offer.",
        NOW,
        want("open", None, [], [(own, "job.own-offer")]),
    )
    s = Story()
    bid = s.bid(LAB_A)
    start = s.step(LAB_A, "job.start", after=bytes(32))
    yield s.case(
        "after-names-no-step",
        "A start whose `after` names no step of the job.",
        NOW,
        want("open", None, [], [(start, "job.missing-ref")], [(bid, "active")]),
    )
    s = Story()
    bid = s.bid(LAB_A)
    withdraw = s.sign(LAB_A, "job.withdraw", {"job": s.job, "bid": entry_id(bid)})
    award = s.step(CUSTOMER, "job.award", bid=entry_id(bid))
    yield s.case(
        "award-of-a-withdrawn-bid",
        "The bid was withdrawn before the award.",
        NOW,
        want("open", None, [], [(award, "job.bid-withdrawn")], [(bid, "withdrawn")]),
    )
    del withdraw
    s = Story()
    bid = s.bid(LAB_A)
    award = s.step(CUSTOMER, "job.award", bid=entry_id(bid))
    withdraw = s.sign(LAB_A, "job.withdraw", {"job": s.job, "bid": entry_id(bid)})
    yield s.case(
        "withdraw-after-award",
        "The lab withdraws its bid once awarded.",
        NOW,
        want(
            "awarded",
            LAB_A,
            [("job.award", award)],
            [(withdraw, "job.out-of-turn")],
            [(bid, "awarded")],
        ),
    )
    s = Story()
    bid = s.bid(LAB_A)
    award = s.step(CUSTOMER, "job.award", bid=entry_id(bid))
    start = s.step(LAB_A, "job.start")
    cancel = s.step(CUSTOMER, "job.cancel", reason="Changed my mind")
    yield s.case(
        "cancel-in-production",
        "The customer cancels after production started.",
        NOW,
        want(
            "in-production",
            LAB_A,
            [("job.award", award), ("job.start", start)],
            [(cancel, "job.out-of-turn")],
            [(bid, "awarded")],
        ),
    )


def _time_cases() -> Iterator[Case]:
    s = Story(ttl_s=3600)
    expiry = T0_MS + 1000 + 3600 * 1000  # the offer is signed at T0 + 1 s
    late = s.bid(LAB_A, at_ms=expiry)
    yield s.case(
        "expired-offer-late-bid",
        "A bid signed at the expiry; read after it.",
        expiry,
        want("expired", None, [], [(late, "job.expired")]),
    )
    s = Story(ttl_s=3600)
    bid = s.bid(LAB_A)
    award = s.step(CUSTOMER, "job.award", bid=entry_id(bid), at_ms=expiry + 5)
    yield s.case(
        "award-after-expiry",
        "The award is signed after the offer expired.",
        expiry - 1,
        want("open", None, [], [(award, "job.expired")], [(bid, "active")]),
    )
    s = Story(ttl_s=MAX_TTL_S + 1)
    yield s.case(
        "ttl-above-the-rule",
        "The offer's ttl_s exceeds the rule job_offer_ttl_s.",
        NOW,
        error("job.bad-offer"),
    )


def _withdraw(s: Story, who: Identity, bid: bytes, **kw: Any) -> bytes:
    return s.sign(who, "job.withdraw", {"job": s.job, "bid": bid}, **kw)


def _bid_cases() -> Iterator[Case]:
    """Bid statuses (§5 step 1-2, the bid table): superseded, withdrawn, awarded."""
    s = Story()
    a1, a2, b1 = s.bid(LAB_A), s.bid(LAB_A), s.bid(LAB_B)
    yield s.case(
        "rebid-supersedes",
        "Lab A bids twice: its bid with the higher seq is active, the earlier superseded.",
        NOW,
        want("open", None, [], bids=[(a1, "superseded"), (a2, "active"), (b1, "active")]),
    )
    s = Story()
    a1, a2 = s.bid(LAB_A), s.bid(LAB_A)
    award = s.step(CUSTOMER, "job.award", bid=entry_id(a1))
    yield s.case(
        "award-of-a-superseded-bid",
        "The customer awards lab A's earlier bid: a superseded bid is still awardable.",
        NOW,
        want("awarded", LAB_A, [("job.award", award)], bids=[(a1, "awarded"), (a2, "active")]),
    )
    s = Story()
    a1, a2, b1 = s.bid(LAB_A), s.bid(LAB_A), s.bid(LAB_B)
    first = _withdraw(s, LAB_A, entry_id(a2))
    again = _withdraw(s, LAB_A, entry_id(a2))
    forged = _withdraw(s, LAB_B, entry_id(a1))
    unheld = _withdraw(s, LAB_B, bytes(32))
    del first, again
    yield s.case(
        "withdrawals",
        "A withdraws its latest bid twice (the second changes nothing), B withdraws A's "
        "other bid (not-party) and a bid not held (missing-ref); A's earlier bid stays "
        "superseded.",
        NOW,
        want(
            "open",
            None,
            [],
            [(forged, "job.not-party"), (unheld, "job.missing-ref")],
            [(a1, "superseded"), (a2, "withdrawn"), (b1, "active")],
        ),
    )
    s = Story()
    bid = s.bid(LAB_A)
    award_ms = s.clock_ms + 5000
    withdraw = _withdraw(s, LAB_A, entry_id(bid), at_ms=award_ms)
    award = s.step(CUSTOMER, "job.award", bid=entry_id(bid), at_ms=award_ms)
    yield s.case(
        "withdrawal-at-the-award-time",
        "The withdrawal has the award's timestamp: not before it, so the award applies and "
        "the withdrawal is too late.",
        NOW,
        want(
            "awarded",
            LAB_A,
            [("job.award", award)],
            [(withdraw, "job.out-of-turn")],
            [(bid, "awarded")],
        ),
    )


def _side_cases() -> Iterator[Case]:
    """Counters and files (§5 steps 5-6)."""
    s = Story(ttl_s=3600)
    expiry = T0_MS + 1000 + 3600 * 1000
    bid = s.bid(LAB_A)
    price = {"amount_minor": 8_000, "currency": "EUR"}

    def counter(who: Identity, of: bytes, **kw: Any) -> bytes:
        body = {"job": s.job, "bid": of, "price": price, "ready_ms": T0_MS + 9 * DAY_MS,
                "note": ""}  # fmt: skip
        return s.sign(who, "job.counter", body, **kw)

    counter(CUSTOMER, entry_id(bid))
    by_lab = counter(LAB_B, bytes(32))
    unheld = counter(CUSTOMER, bytes(32))
    late = counter(CUSTOMER, entry_id(bid), at_ms=expiry)
    yield s.case(
        "counters",
        "A valid counter; one by a lab of a bid not held (not-party is checked first); "
        "one of a bid not held; one signed at the expiry.",
        expiry - 1,
        want(
            "open",
            None,
            [],
            [(by_lab, "job.not-party"), (unheld, "job.missing-ref"), (late, "job.expired")],
            [(bid, "active")],
        ),
    )
    s = Story()
    bid = s.bid(LAB_A)
    early = s.sign(CUSTOMER, "job.files", {"job": s.job, "blobs": [bytes([1]) * 32]})
    award = s.step(CUSTOMER, "job.award", bid=entry_id(bid))
    s.sign(CUSTOMER, "job.files", {"job": s.job, "blobs": [bytes([2]) * 32]})
    by_lab = s.sign(LAB_A, "job.files", {"job": s.job, "blobs": [bytes([3]) * 32]})
    yield s.case(
        "files",
        "Files before the award (in the customer's log) and files by the lab are refused; "
        "files after the award are kept.",
        NOW,
        want(
            "awarded",
            LAB_A,
            [("job.award", award)],
            [(early, "job.out-of-turn"), (by_lab, "job.not-party")],
            [(bid, "awarded")],
        ),
    )


SEAL_KEY = {"suite": "x25519-hkdf-sha256-chacha20poly1305", "public_key": bytes([9]) * 32}


def _message(s: Story, who: Identity, to: Identity, n: int, **kw: Any) -> bytes:
    body = {"job": s.job, "to": to.id, "sealed": bytes([n]) * 32, "attachments": [],
            "seal_key": SEAL_KEY}  # fmt: skip
    return s.sign(who, "job.message", body, **kw)


def _message_cases() -> Iterator[Case]:
    """The thread (§5.3): who may write to whom, before and after the award."""
    s = Story()
    bid_a, bid_b = s.bid(LAB_A), s.bid(LAB_B)
    to_b = _message(s, CUSTOMER, LAB_B, 1)
    from_b = _message(s, LAB_B, CUSTOMER, 2)
    to_outsider = _message(s, CUSTOMER, OUTSIDER, 3)
    from_outsider = _message(s, OUTSIDER, CUSTOMER, 4)
    b_to_a = _message(s, LAB_B, LAB_A, 5)
    award = s.step(CUSTOMER, "job.award", bid=entry_id(bid_a))
    late_to_b = _message(s, CUSTOMER, LAB_B, 6)
    late_from_b = _message(s, LAB_B, CUSTOMER, 7)
    to_a = _message(s, CUSTOMER, LAB_A, 8)
    from_a = _message(s, LAB_A, CUSTOMER, 9)
    start = s.step(LAB_A, "job.start")
    yield s.case(
        "messages",
        "Before the award the customer and lab B talk; a message to or from an identity "
        "with no bid, and one between two labs, are not-party; after the award (the "
        "customer's log orders its own, signer time a lab's) only lab A talks: B's are "
        "out-of-turn. Messages are no steps: the state follows the steps alone.",
        NOW,
        want(
            "in-production",
            LAB_A,
            [("job.award", award), ("job.start", start)],
            [
                (to_outsider, "job.not-party"),
                (from_outsider, "job.not-party"),
                (b_to_a, "job.not-party"),
                (late_to_b, "job.out-of-turn"),
                (late_from_b, "job.out-of-turn"),
            ],
            [(bid_a, "awarded"), (bid_b, "active")],
            [to_b, from_b, to_a, from_a],
        ),
    )
    s = Story()
    bid_a = s.bid(LAB_A)
    award_ms = s.clock_ms + 60_000
    award = s.sign(
        CUSTOMER, "job.award", {"job": s.job, "after": s.job, "bid": entry_id(bid_a)},
        at_ms=award_ms,
    )  # fmt: skip
    bid_b = s.bid(LAB_B)  # signed before the award's time, arrives after it
    from_b = _message(s, LAB_B, CUSTOMER, 1)
    at_award = _message(s, LAB_B, CUSTOMER, 2, at_ms=award_ms)
    yield s.case(
        "message-at-the-award-time",
        "A losing lab's message dated before the award is kept; one dated at the award's "
        "timestamp_ms is out-of-turn.",
        NOW,
        want(
            "awarded",
            LAB_A,
            [("job.award", award)],
            [(at_award, "job.out-of-turn")],
            [(bid_a, "awarded"), (bid_b, "active")],
            [from_b],
        ),
    )


def _order_cases() -> Iterator[Case]:
    """Which check decides when several apply (§5), and what is not looked at."""
    s = Story(ttl_s=3600)
    expiry = T0_MS + 1000 + 3600 * 1000
    own = s.bid(CUSTOMER, at_ms=expiry + 1000)
    yield s.case(
        "own-bid-after-expiry",
        "The customer bids after the expiry: own-offer is checked before the expiry.",
        expiry - 1,
        want("open", None, [], [(own, "job.own-offer")]),
    )
    s = Story(ttl_s=3600)
    bid = s.bid(LAB_A)
    start = s.step(LAB_A, "job.start", at_ms=expiry)
    yield s.case(
        "expiry-before-turn",
        "A start on the open job, signed at the expiry: job.expired, checked before the table.",
        expiry - 1,
        want("open", None, [], [(start, "job.expired")], [(bid, "active")]),
    )
    s = Story(ttl_s=3600)
    bid = s.bid(LAB_A)
    award = s.step(CUSTOMER, "job.award", bid=entry_id(bid))
    start = s.step(LAB_A, "job.start", at_ms=expiry + 1000)
    yield s.case(
        "steps-after-expiry-once-awarded",
        "The expiry only bounds an open job: a start after it on an awarded job applies.",
        expiry + 2000,
        want(
            "in-production",
            LAB_A,
            [("job.award", award), ("job.start", start)],
            bids=[(bid, "awarded")],
        ),
    )
    s = Story()
    own = s.bid(CUSTOMER)
    forged = s.step(LAB_A, "job.award", bid=bytes(32))
    award = s.step(CUSTOMER, "job.award", bid=entry_id(own), after=s.job)
    yield s.case(
        "award-of-a-bid-not-held",
        "A lab's award naming no bid is not-party (the table first); the customer's award of "
        "its own refused bid is missing-ref.",
        NOW,
        want(
            "open",
            None,
            [],
            [(own, "job.own-offer"), (forged, "job.not-party"), (award, "job.missing-ref")],
        ),
    )
    s = Story()
    bid = s.bid(LAB_A)
    award_ms = s.clock_ms + 10_000
    award_body = {"job": s.job, "after": s.job, "bid": entry_id(bid)}
    award = s.sign(CUSTOMER, "job.award", award_body, at_ms=award_ms)
    start = s.step(LAB_A, "job.start", after=entry_id(award))  # dated before the award
    yield s.case(
        "step-dated-before-its-after",
        "The start is dated before the award it follows: causal order, not timestamps, "
        "decides; it applies after the award.",
        NOW,
        want(
            "in-production",
            LAB_A,
            [("job.award", award), ("job.start", start)],
            bids=[(bid, "awarded")],
        ),
    )
    s, expect = _happy()
    other = Story(ttl_s=TTL_S - 60)  # another job: its entries name another offer
    stray = other.bid(LAB_A)
    vote = s.sign(LAB_B, "gov.vote", {"proposal": s.job, "choice": "yes"})
    mixed = [s.offer, *s.entries, *s.entries[:3], stray, vote]
    yield s.case(
        "duplicates-and-foreign-entries",
        "The happy path with the offer itself, three duplicates, a bid on another job and an "
        "entry of another kind: the same result.",
        NOW,
        expect,
        entries=mixed,
    )
    s = Story(deadline_ms=T0_MS + 1000)
    yield s.case(
        "deadline-not-after-offer",
        "The offer's deadline_ms equals its own timestamp_ms.",
        NOW,
        error("job.bad-offer"),
    )


# -- jobs/message: the plaintext inside a job message's sealed blob (§2.5) -----------


def _plaintext(**change: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "job": bytes([1]) * 32,
        "from": CUSTOMER.id,
        "to": LAB_A.id,
        "text": "Can you print it in black?\nThanks",
        "sent_ms": T0_MS,
        "names": ["sketch.pdf"],
    }
    value.update(change)
    return value


def _message_case(name: str, description: str, raw: bytes, expect: dict[str, Any]) -> Case:
    data = {
        "plaintext_hex": raw.hex(),
        "job_hex": (bytes([1]) * 32).hex(),
        "from": id_to_text(CUSTOMER.id),
        "to": id_to_text(LAB_A.id),
        "attachments": 1,
    }
    return Case("jobs", "message", name, description, data, expect)


def message_cases() -> Iterator[Case]:
    good = _plaintext()
    yield _message_case(
        "plain", "A message with one attachment name, matching its entry.",
        canonical.encode(good),
        ok(text=good["text"], sent_ms=T0_MS, names=["sketch.pdf"]),
    )  # fmt: skip
    yield _message_case(
        "non-canonical", "The same map with its keys out of order.",
        b"\x86" + b"".join(canonical.encode(k)[0:] + canonical.encode(v)
                           for k, v in reversed(list(good.items()))),
        error("decode.bad-message"),
    )  # fmt: skip
    yield _message_case(
        "control-character", "The text holds a bell (U+0007).",
        canonical.encode(_plaintext(text="ring\x07")),
        error("decode.bad-message"),
    )  # fmt: skip
    yield _message_case(
        "another-job", "The plaintext names another job than its entry (a moved blob).",
        canonical.encode(_plaintext(job=bytes([2]) * 32)),
        error("verify.message-mismatch"),
    )  # fmt: skip
    yield _message_case(
        "parties-swapped", "From the lab to the customer, where the entry says the reverse "
        "(the other party's blob re-signed as one's own).",
        canonical.encode(_plaintext(**{"from": LAB_A.id, "to": CUSTOMER.id})),
        error("verify.message-mismatch"),
    )  # fmt: skip
    yield _message_case(
        "names-count", "Two attachment names for an entry with one attachment.",
        canonical.encode(_plaintext(names=["a.pdf", "b.pdf"])),
        error("verify.message-mismatch"),
    )  # fmt: skip
