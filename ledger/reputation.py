"""A lab's reputation, computed from the jobs of the ledger (specs/0007-jobs.md §7).

Reputation is never stored: `lab_reputation(lab, jobs)` recomputes it from derived
jobs (ledger.jobs), so every node with the same entries shows the same figures. Each
figure lists the entries behind it, so anyone can check it:
  * awarded: jobs whose award names a bid of the lab (award entries);
  * completed: awarded jobs with a confirmation (confirm entries);
  * on time: completed jobs delivered by the offer's deadline — delivery is the
    lab's `job.deliver`, or the confirmation when the lab signed none;
  * disputes: awarded jobs with a dispute, by outcome: open, withdrawn (the customer
    confirmed after all) or refunded (the lab refunded);
  * cancelled: awarded jobs the customer cancelled before production;
  * reviews: the review of each job; only the customer who confirmed delivery can
    sign one (the lifecycle table allows a review only after that party's confirm).
Rates are integers per mille, rounded down; a rate with no jobs behind it is null.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from protocol import jobs
from protocol.ids import id_to_text
from protocol.jobs import ReviewBody, State
from protocol.jobstate import JobView

PERMILLE = 1000


def _permille(part: int, whole: int) -> int | None:
    return None if whole == 0 else part * PERMILLE // whole


def _ref(view: JobView, kind: str) -> dict[str, Any]:
    step = view.step(kind)
    assert step is not None
    return {"job": id_to_text(view.id), "entry_id": id_to_text(step.entry_id)}


def lab_reputation(lab: bytes, views: Iterable[JobView]) -> dict[str, Any]:
    """The figures of `lab` (§7), each with the entry ids behind it."""
    mine = sorted((v for v in views if v.lab == lab), key=lambda v: v.id)
    completed = [v for v in mine if v.step(jobs.CONFIRM) is not None]
    on_time: list[dict[str, Any]] = []
    late: list[dict[str, Any]] = []
    for view in completed:
        delivered = view.step(jobs.DELIVER) or view.step(jobs.CONFIRM)
        assert delivered is not None
        ref = {**_ref(view, jobs.CONFIRM), "delivered_entry_id": id_to_text(delivered.entry_id)}
        (on_time if delivered.timestamp_ms <= view.offer.deadline_ms else late).append(ref)
    disputed = [v for v in mine if v.step(jobs.DISPUTE) is not None]
    outcomes: dict[str, list[dict[str, Any]]] = {"open": [], "withdrawn": [], "refunded": []}
    for view in disputed:
        ref = _ref(view, jobs.DISPUTE)
        if view.state is State.REFUNDED:
            outcomes["refunded"].append(
                {**ref, "outcome_entry_id": _ref(view, jobs.REFUND)["entry_id"]}
            )
        elif view.step(jobs.CONFIRM) is not None:
            outcomes["withdrawn"].append(
                {**ref, "outcome_entry_id": _ref(view, jobs.CONFIRM)["entry_id"]}
            )
        else:
            outcomes["open"].append(ref)
    reviews = []
    for view in mine:
        step = view.step(jobs.REVIEW)
        if step is not None and isinstance(step.body, ReviewBody):
            reviews.append({**_ref(view, jobs.REVIEW), "score": step.body.score,
                            "by": id_to_text(step.author), "text": step.body.text})  # fmt: skip
    scores = sum(r["score"] for r in reviews)
    return {
        "lab": id_to_text(lab),
        "awarded": {"count": len(mine), "entries": [_ref(v, jobs.AWARD) for v in mine]},
        "completed": {
            "count": len(completed),
            "entries": [_ref(v, jobs.CONFIRM) for v in completed],
        },
        "on_time": {
            "count": len(on_time),
            "of": len(completed),
            "permille": _permille(len(on_time), len(completed)),
            "entries": on_time,
            "late": late,
        },
        "disputes": {
            "count": len(disputed),
            "of": len(mine),
            "permille": _permille(len(disputed), len(mine)),
            **outcomes,
        },
        "cancelled": {
            "count": sum(1 for v in mine if v.state is State.CANCELLED),
            "entries": [_ref(v, jobs.CANCEL) for v in mine if v.state is State.CANCELLED],
        },
        "reviews": {
            "count": len(reviews),
            "score_sum": scores,
            "mean_milli": None if not reviews else scores * 1000 // len(reviews),
            "entries": reviews,
        },
    }
