"""The job lifecycle table and the derivation of a job's state (specs/0007-jobs.md)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import jobs
from protocol.entry import Entry
from protocol.errors import JobError, error_for_code
from protocol.jobs import TRANSITIONS, Role, State, transition
from protocol.jobstate import JobView, derive_job
from protocol.kinds import check_body
from tests.jobs_factory import DAY_MS, TTL_S, JobStory, offer_body

NOW_MS = 1_700_000_000_000 + DAY_MS


def derive(story: JobStory, entries: list[Entry] | None = None, now_ms: int = NOW_MS) -> JobView:
    chosen = story.entries if entries is None else entries
    return derive_job(story.offer, chosen, max_ttl_s=TTL_S, now_ms=now_ms)


def codes(view: JobView) -> list[str]:
    return sorted(r.code for r in view.refused)


def test_happy_path_reaches_reviewed() -> None:
    story = JobStory()
    story.happy_path()
    view = derive(story)
    assert view.state is State.REVIEWED
    assert view.lab == story.lab_a.id
    assert [s.kind for s in view.steps] == [
        jobs.AWARD, jobs.START, jobs.SHIP, jobs.DELIVER, jobs.CONFIRM, jobs.REVIEW
    ]  # fmt: skip
    assert view.refused == ()
    statuses = {b.lab: b.status for b in view.bids}
    assert statuses == {story.lab_a.id: "awarded", story.lab_b.id: "active"}


@given(st.data())
@settings(max_examples=40, deadline=None)
def test_any_arrival_order_gives_the_same_state(data: st.DataObject) -> None:
    story = JobStory()
    story.happy_path()
    # Noise: an out-of-turn ship by lab B, a forged confirm by lab A, a duplicate.
    story.add(story.lab_b, jobs.SHIP, {"job": story.offer.id, "after": story.head,
                                       "tracking": None})  # fmt: skip
    story.add(story.lab_a, jobs.CONFIRM, {"job": story.offer.id, "after": story.offer.id})
    reference = derive(story)
    shuffled = data.draw(st.permutations(story.entries + story.entries[:2]))
    assert derive(story, list(shuffled)) == reference


def test_every_state_and_kind_is_allowed_or_a_typed_error() -> None:
    for state, kind, role in itertools.product(State, jobs.STEP_KINDS, Role):
        found = TRANSITIONS.get((state, kind))
        if found is not None and found[0] is role:
            assert transition(state, kind, role) is found[1]
            continue
        with pytest.raises(JobError) as caught:
            transition(state, kind, role)
        want = "job.out-of-turn" if found is None else "job.not-party"
        assert caught.value.code == want
        assert isinstance(error_for_code(caught.value.code, ""), JobError)


def test_out_of_turn_and_forged_steps_are_refused() -> None:
    story = JobStory()
    bid = story.bid(story.lab_a)
    ship = story.step(story.lab_a, jobs.SHIP)  # before any award: out of turn
    story.head = story.offer.id
    forged = story.step(story.lab_a, jobs.AWARD, bid=bid.id)  # only the customer awards
    story.head = story.offer.id
    story.customer.clock_ms = story.lab_a.clock_ms  # the real award comes after the forged one
    story.step(story.customer, jobs.AWARD, bid=bid.id)
    view = derive(story)
    refused = {r.entry_id: r.code for r in view.refused}
    assert refused == {ship.id: "job.out-of-turn", forged.id: "job.not-party"}
    assert view.state is State.AWARDED


def test_other_lab_cannot_make_the_awarded_job() -> None:
    story = JobStory()
    bid = story.bid(story.lab_a)
    story.step(story.customer, jobs.AWARD, bid=bid.id)
    start = story.step(story.lab_b, jobs.START)
    view = derive(story)
    assert view.state is State.AWARDED
    assert [(r.entry_id, r.code) for r in view.refused] == [(start.id, "job.not-party")]


def test_open_offer_expires_and_late_bids_are_refused() -> None:
    story = JobStory()
    story.lab_a.clock_ms = story.offer.timestamp_ms + TTL_S * 1000
    late = story.bid(story.lab_a)
    assert derive(story, now_ms=story.offer.timestamp_ms + TTL_S * 1000).state is State.EXPIRED
    view = derive(story, now_ms=story.offer.timestamp_ms)
    assert view.state is State.OPEN
    assert [(r.entry_id, r.code) for r in view.refused] == [(late.id, "job.expired")]


def test_withdrawn_bid_cannot_be_awarded() -> None:
    story = JobStory()
    bid = story.bid(story.lab_a)
    story.add(story.lab_a, jobs.WITHDRAW, {"job": story.offer.id, "bid": bid.id})
    story.customer.clock_ms = story.lab_a.clock_ms + 1
    story.step(story.customer, jobs.AWARD, bid=bid.id)
    view = derive(story)
    assert view.state is State.OPEN
    assert codes(view) == ["job.bid-withdrawn"]
    assert view.bids[0].status == "withdrawn"


def test_withdrawal_after_award_is_refused() -> None:
    story = JobStory()
    bid = story.bid(story.lab_a)
    story.step(story.customer, jobs.AWARD, bid=bid.id)
    story.lab_a.clock_ms = story.customer.clock_ms + 1
    story.add(story.lab_a, jobs.WITHDRAW, {"job": story.offer.id, "bid": bid.id})
    view = derive(story)
    assert view.state is State.AWARDED
    assert codes(view) == ["job.out-of-turn"]


def test_dispute_then_refund_and_no_review() -> None:
    story = JobStory()
    bid = story.bid(story.lab_a)
    story.step(story.customer, jobs.AWARD, bid=bid.id)
    story.step(story.lab_a, jobs.START)
    story.step(story.lab_a, jobs.SHIP)
    story.step(story.customer, jobs.DISPUTE, evidence=[bytes(range(32))])
    story.step(story.lab_a, jobs.REFUND)
    review = story.step(story.customer, jobs.REVIEW)
    view = derive(story)
    assert view.state is State.REFUNDED
    assert [(r.entry_id, r.code) for r in view.refused] == [(review.id, "job.out-of-turn")]


def test_concurrent_steps_apply_in_causal_order() -> None:
    """The lab's deliver and the customer's confirm both follow the ship: both apply."""
    story = JobStory()
    bid = story.bid(story.lab_a)
    story.step(story.customer, jobs.AWARD, bid=bid.id)
    story.step(story.lab_a, jobs.START)
    ship = story.step(story.lab_a, jobs.SHIP)
    story.step(story.lab_a, jobs.DELIVER)
    story.head = ship.id
    story.customer.clock_ms = story.lab_a.clock_ms  # confirmed after the lab's deliver
    story.step(story.customer, jobs.CONFIRM)
    view = derive(story)
    assert view.state is State.CONFIRMED
    assert view.refused == ()


def test_missing_reference_waits() -> None:
    story = JobStory()
    bid = story.bid(story.lab_a)
    award = story.step(story.customer, jobs.AWARD, bid=bid.id)
    start = story.step(story.lab_a, jobs.START)
    view = derive(story, [bid, start])  # the award has not arrived
    assert view.state is State.OPEN
    assert [(r.entry_id, r.code) for r in view.refused] == [(start.id, "job.missing-ref")]
    assert derive(story, [bid, start, award]).state is State.IN_PRODUCTION


def test_cancel_before_start_only() -> None:
    story = JobStory()
    bid = story.bid(story.lab_a)
    story.step(story.customer, jobs.AWARD, bid=bid.id)
    story.step(story.lab_a, jobs.START)
    cancel = story.step(story.customer, jobs.CANCEL)
    view = derive(story)
    assert view.state is State.IN_PRODUCTION
    assert [(r.entry_id, r.code) for r in view.refused] == [(cancel.id, "job.out-of-turn")]


def test_own_bid_counter_and_files() -> None:
    story = JobStory()
    own = story.bid(story.customer)
    bid = story.bid(story.lab_a)
    early_files = story.add(story.customer, jobs.FILES, {"job": story.offer.id,
                                                         "blobs": [bytes(32)]})  # fmt: skip
    story.add(story.customer, jobs.COUNTER, {"job": story.offer.id, "bid": bid.id,
              "price": {"amount_minor": 9_000, "currency": "EUR"}, "ready_ms": 5,
              "note": "cheaper?"})  # fmt: skip
    story.step(story.customer, jobs.AWARD, bid=bid.id)
    story.add(story.customer, jobs.FILES, {"job": story.offer.id, "blobs": [bytes(32)]})
    view = derive(story)
    refused = {r.entry_id: r.code for r in view.refused}
    assert refused == {own.id: "job.own-offer", early_files.id: "job.out-of-turn"}
    assert len(view.files) == 1
    assert len(view.bids[0].counters) == 1


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"design": None}, "neither design nor sealed"),
        ({"process": "teleportation"}, "not in the process vocabulary"),
        ({"quantity": 0}, "no pieces"),
        ({"budget": {"amount_minor": 1, "currency": "eur"}}, "lower-case currency"),
        ({"location": {"lat_microdeg": 91_000_000, "lon_microdeg": 0}}, "off the globe"),
        ({"ttl_s": 1.5}, "a float"),
    ],
)
def test_bad_offer_bodies_are_invalid(changes: dict[str, object], reason: str) -> None:
    assert not check_body(jobs.OFFER, offer_body(**changes)).valid, reason


def test_offer_beyond_the_rules_ttl_is_refused() -> None:
    story = JobStory()
    with pytest.raises(JobError) as caught:
        derive_job(story.offer, [], max_ttl_s=TTL_S - 1, now_ms=NOW_MS)
    assert caught.value.code == "job.bad-offer"


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.text(max_size=20),
    st.binary(max_size=40), st.lists(st.integers(), max_size=3),
)  # fmt: skip


@given(st.sampled_from(sorted(jobs.STEP_KINDS + jobs.SIDE_KINDS + (jobs.OFFER,))), st.data())
@settings(max_examples=200, deadline=None)
def test_any_body_is_valid_or_a_recorded_reason(kind: str, data: st.DataObject) -> None:
    story = JobStory()
    base = offer_body() if kind == jobs.OFFER else {"job": story.offer.id, "after": story.offer.id}
    body = dict(base)
    for key in data.draw(st.lists(st.sampled_from([*base, "extra"]), max_size=3)):
        body[key] = data.draw(_VALUES)
    status = check_body(kind, body)
    assert status.valid or status.code == "body.invalid"


_ACTORS = ("customer", "lab_a", "lab_b")


@given(
    st.lists(
        st.tuples(st.sampled_from(_ACTORS), st.sampled_from((*jobs.STEP_KINDS, jobs.BID)),
                  st.integers(0, 5)),
        max_size=14,
    )
)  # fmt: skip
@settings(max_examples=60, deadline=None)
def test_random_stories_follow_the_table(actions: list[tuple[str, str, int]]) -> None:
    """Whatever is signed, the applied steps replay through the table to the state."""
    story = JobStory()
    chain = [story.offer.id]
    bids: list[bytes] = []
    for actor, kind, pick in actions:
        author = getattr(story, actor)
        if kind == jobs.BID:
            bids.append(story.bid(author).id)
            continue
        story.head = chain[pick % len(chain)]
        extra = {"bid": bids[pick % len(bids)] if bids else bytes(32)} if kind == jobs.AWARD else {}
        chain.append(story.step(author, kind, **extra).id)
    view = derive(story)
    state, lab = State.OPEN, None
    for step in view.steps:
        if step.kind == jobs.AWARD:
            lab = next(b.lab for b in view.bids if b.entry_id == step.body.bid)
        role = (Role.CUSTOMER if step.author == story.customer.id
                else Role.LAB if step.author == lab else Role.OTHER)  # fmt: skip
        state = transition(state, step.kind, role)
        assert state is step.state
    assert view.state is state
    assert len(view.steps) + len(view.refused) + len(view.bids) == len(story.entries)
    assert derive(story, story.entries[::-1]) == view  # arrival order never matters
