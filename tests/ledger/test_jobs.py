"""Jobs, reputation and contributions views over ledger entries (specs/0007 §6-§8)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.catalogue import MemoryCatalogue, index_entry
from ledger.checkpoint import add_cosignatures, cosign, sign_checkpoint, witness_name
from ledger.contributions import contributions
from ledger.jobs import derive_jobs, job_json, within
from ledger.kindindex import KindIndex
from ledger.log import Ledger
from ledger.reputation import lab_reputation
from ledger.store import MemoryLogStore, StoredCheckpoint
from protocol import jobs
from protocol.design import DESIGN
from protocol.entry import Entry
from protocol.governance import VOTE
from protocol.ids import id_to_text
from protocol.processes import Location
from tests.factory import NETWORK, Author
from tests.jobs_factory import DAY_MS, TTL_S, JobStory, offer_body

NOW_MS = 1_700_000_000_000 + DAY_MS


def design_body(name: str, parents: list[bytes], licensors: list[str]) -> dict[str, object]:
    return {
        "name": name, "summary": "", "version": None, "supersedes": None,
        "licence": "CERN-OHL-S-2.0", "licence_as_stated": None, "licensors": licensors,
        "organisation": None, "language": None, "files": [], "links": [],
        "derived_from": parents, "tags": [], "processes": [], "materials": [],
        "outer_dimensions_um": None, "oshwa_uid": None,
    }  # fmt: skip


def all_entries(story: JobStory) -> list[Entry]:
    return [story.offer, *story.entries]


def test_reputation_lists_the_entries_behind_each_figure() -> None:
    story = JobStory()
    story.happy_path()
    job_set = derive_jobs(all_entries(story), max_ttl_s=TTL_S, now_ms=NOW_MS)
    rep = lab_reputation(story.lab_a.id, job_set.jobs)
    confirm = job_set.jobs[0].step(jobs.CONFIRM)
    review = job_set.jobs[0].step(jobs.REVIEW)
    assert confirm is not None and review is not None
    assert rep["completed"]["count"] == 1
    assert rep["completed"]["entries"][0]["entry_id"] == id_to_text(confirm.entry_id)
    assert rep["on_time"] == {**rep["on_time"], "count": 1, "of": 1, "permille": 1000}
    assert rep["reviews"]["entries"][0]["entry_id"] == id_to_text(review.entry_id)
    assert rep["reviews"]["mean_milli"] == 4000
    assert rep["disputes"]["count"] == 0
    assert lab_reputation(story.lab_b.id, job_set.jobs)["awarded"]["count"] == 0


def test_a_late_disputed_job_counts_against_the_lab() -> None:
    story = JobStory()
    bid = story.bid(story.lab_a)
    story.step(story.customer, jobs.AWARD, bid=bid.id)
    story.step(story.lab_a, jobs.START)
    story.lab_a.clock_ms = story.offer.timestamp_ms + 40 * DAY_MS  # after the deadline
    story.step(story.lab_a, jobs.SHIP)
    story.customer.clock_ms = story.lab_a.clock_ms
    story.step(story.customer, jobs.DISPUTE, evidence=[bytes(range(32))])
    story.step(story.customer, jobs.CONFIRM)
    rep = lab_reputation(
        story.lab_a.id,
        derive_jobs(all_entries(story), max_ttl_s=TTL_S, now_ms=NOW_MS).jobs,
    )
    assert rep["on_time"]["count"] == 0 and len(rep["on_time"]["late"]) == 1
    assert rep["disputes"]["count"] == 1 and len(rep["disputes"]["withdrawn"]) == 1


@given(st.data())
@settings(max_examples=25, deadline=None)
def test_views_do_not_depend_on_arrival_order(data: st.DataObject) -> None:
    story = JobStory()
    story.happy_path()
    second = story.customer.append(jobs.OFFER, offer_body(title="Second"))
    entries = [*all_entries(story), second]
    reference = derive_jobs(entries, max_ttl_s=TTL_S, now_ms=NOW_MS)
    shuffled = derive_jobs(data.draw(st.permutations(entries)), max_ttl_s=TTL_S, now_ms=NOW_MS)
    assert [job_json(j) for j in shuffled.jobs] == [job_json(j) for j in reference.jobs]
    assert lab_reputation(story.lab_a.id, shuffled.jobs) == lab_reputation(
        story.lab_a.id, reference.jobs
    )


def test_offers_beyond_the_rules_are_set_apart() -> None:
    customer = Author("customer")
    too_long = customer.append(jobs.OFFER, offer_body(ttl_s=TTL_S + 1))
    job_set = derive_jobs([too_long], max_ttl_s=TTL_S, now_ms=NOW_MS)
    assert job_set.jobs == ()
    assert [r.code for r in job_set.bad_offers] == ["job.bad-offer"]


def test_near_filter_uses_great_circle_distance() -> None:
    story = JobStory()
    view = derive_jobs([story.offer], max_ttl_s=TTL_S, now_ms=NOW_MS).jobs[0]
    potsdam = Location(lat_microdeg=52_390_000, lon_microdeg=13_065_000)  # ~27 km away
    assert within(view, potsdam, 30)
    assert not within(view, potsdam, 20)


def test_contributions_credit_designs_derivatives_jobs_votes_and_cosignatures() -> None:
    story = JobStory()
    story.happy_path()
    designer, remixer, coauthor = Author("designer"), Author("remixer"), Author("coauthor")
    original = designer.append(DESIGN, design_body("Bracket", [], [id_to_text(coauthor.id)]))
    remix = remixer.append(DESIGN, design_body("Bracket remix", [original.id], []))
    vote = designer.append(VOTE, {"proposal": bytes(32), "choice": "yes"})
    catalogue = MemoryCatalogue()
    entries = [*all_entries(story), original, remix, vote]
    for entry in entries:
        index_entry(catalogue, entry, revoked=False)
    views = derive_jobs(entries, max_ttl_s=TTL_S, now_ms=NOW_MS).jobs
    signed = sign_checkpoint(remixer.signing, remixer.network, remixer.id, 2, bytes(32))
    cosig = cosign(designer.signing, witness_name(designer.id), signed.checkpoint, 1_700_000_000)
    note = add_cosignatures(signed, [cosig]).text
    held = [StoredCheckpoint(remixer.network, remixer.id, 2, bytes(32), note)]

    mine = contributions(designer.id, entries, views, catalogue, held, [designer.signing.public])
    assert [d["entry_id"] for d in mine["designs"]] == [id_to_text(original.id)]
    assert [d["entry_id"] for d in mine["derivatives"]] == [id_to_text(remix.id)]
    assert [v["entry_id"] for v in mine["votes"]] == [id_to_text(vote.id)]
    assert mine["cosignatures"] == [{"log": id_to_text(remixer.id), "size": 2,
                                     "timestamp_s": 1_700_000_000}]  # fmt: skip
    # A cosignature line under another key does not count.
    other = contributions(designer.id, entries, views, catalogue, held, [remixer.signing.public])
    assert other["cosignatures"] == []
    # Co-authors are credited through the licensors.
    co = contributions(coauthor.id, entries, views, catalogue)
    assert co["designs"] == [{"entry_id": id_to_text(original.id), "name": "Bracket",
                              "as": "licensor"}]  # fmt: skip
    lab = contributions(story.lab_a.id, entries, views, catalogue)
    customer = contributions(story.customer.id, entries, views, catalogue)
    assert len(lab["jobs_made"]) == 1 and lab["jobs_confirmed"] == []
    assert len(customer["jobs_confirmed"]) == 1 and len(customer["reviews"]) == 1


@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from([jobs.OFFER, "note"])), max_size=12))
@settings(max_examples=30, deadline=None)
def test_kind_index_equals_reading_from_scratch(appends: list[tuple[int, str]]) -> None:
    store = MemoryLogStore()
    ledger = Ledger(store)
    authors = [Author(f"indexed-{i}") for i in range(3)]
    index = KindIndex((jobs.OFFER,))
    for who, kind in appends:
        author = authors[who]
        body = offer_body(title=f"T{len(author.entries)}") if kind == jobs.OFFER else {"text": "x"}
        author.append(kind, body)
        head = ledger.head(NETWORK, author.id)
        ledger.ingest([e.raw for e in author.entries[0 if head is None else head.size :]])
        fresh = KindIndex((jobs.OFFER,)).refresh(store, NETWORK)
        assert [e.id for e in index.refresh(store, NETWORK)] == [e.id for e in fresh]
    want = sorted((e for a in authors for e in a.entries if e.kind == jobs.OFFER),
                  key=lambda e: (e.author, e.seq))  # fmt: skip
    assert [e.id for e in index.refresh(store, NETWORK)] == [e.id for e in want]
