"""The ledger of contributions: what one identity gave the commons (specs/0007-jobs.md §8).

`contributions(identity, ...)` is a view anyone can recompute from the same ledger:
  * designs: `design` entries the identity signed, and designs naming it as a
    licensor (a licensor written as the identity's id text): co-authors are credited;
  * derivatives: designs by *others* that derive from one of those designs, through
    lineage (ledger.catalogue descendants, to its bounded depth);
  * jobs made: jobs whose awarded lab is the identity and that were confirmed;
  * jobs confirmed: the identity's own offers that it confirmed;
  * reviews: `job.review` steps it signed that the lifecycle applied;
  * votes: valid `gov.vote` entries it signed;
  * cosignatures: witness cosignatures are not entries: they are lines on the
    checkpoints a node keeps (specs/0003 §3). A line counts when it is named
    `fabcommons-witness/<id>` and verifies under one of the identity's signing keys.
Every item carries the entry id (or the checkpoint) behind it. The caller passes
valid, unrevoked entries of one network; pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ledger.catalogue import CatalogueIndex
from ledger.checkpoint import (
    SIG_TYPE_COSIGNATURE_V1,
    decode_signed_checkpoint,
    key_id,
    verify_cosignature,
    witness_name,
)
from ledger.checkpoint import Cosignature as CosignatureLine
from ledger.store import StoredCheckpoint
from protocol import jobs
from protocol.design import DESIGN, DesignBody
from protocol.entry import Entry
from protocol.errors import CommonsError
from protocol.governance import VOTE, VoteBody
from protocol.ids import id_to_text
from protocol.jobstate import JobView
from protocol.kinds import check_body

_STAMP_BYTES = 8


def _designs(identity: bytes, entries: Iterable[Entry]) -> list[tuple[Entry, DesignBody, str]]:
    me = id_to_text(identity)
    out = []
    for entry in entries:
        if entry.kind != DESIGN:
            continue
        body = check_body(entry.kind, entry.body).model
        if not isinstance(body, DesignBody):
            continue
        if entry.author == identity:
            out.append((entry, body, "author"))
        elif me in body.licensors:
            out.append((entry, body, "licensor"))
    return sorted(out, key=lambda t: t[0].id)


def _derivatives(
    identity: bytes, designs: Sequence[bytes], catalogue: CatalogueIndex
) -> list[dict[str, Any]]:
    found: dict[bytes, dict[str, Any]] = {}
    for design in designs:
        for row in catalogue.descendants(design):
            if not row.known or row.author == identity:
                continue
            item = found.setdefault(
                row.id,
                {"entry_id": id_to_text(row.id), "name": row.name, "depth": row.depth,
                 "author": None if row.author is None else id_to_text(row.author), "of": []},
            )  # fmt: skip
            item["depth"] = min(item["depth"], row.depth)
            item["of"].append(id_to_text(design))
    return [found[k] for k in sorted(found)]


def _cosignatures(
    identity: bytes, checkpoints: Iterable[StoredCheckpoint], keys: Sequence[bytes]
) -> list[dict[str, Any]]:
    name = witness_name(identity)
    out = []
    for stored in checkpoints:
        try:
            signed = decode_signed_checkpoint(stored.note)
        except CommonsError:
            continue
        for line in signed.signatures:
            if line.name != name or len(line.signature) <= _STAMP_BYTES:
                continue
            stamp = int.from_bytes(line.signature[:_STAMP_BYTES], "big")
            cosig = CosignatureLine(name, line.key_id, stamp, line.signature[_STAMP_BYTES:])
            if any(_verifies(cosig, key, signed.checkpoint) for key in keys):
                out.append({"log": id_to_text(stored.author), "size": stored.size,
                            "timestamp_s": stamp})  # fmt: skip
    return sorted(out, key=lambda c: (c["log"], c["size"], c["timestamp_s"]))


def _verifies(cosig: CosignatureLine, key: bytes, checkpoint: Any) -> bool:
    if cosig.key_id != key_id(cosig.witness_name, SIG_TYPE_COSIGNATURE_V1, key):
        return False
    try:
        verify_cosignature(cosig, key, checkpoint)
    except CommonsError:
        return False
    return True


def contributions(
    identity: bytes,
    entries: Sequence[Entry],
    views: Iterable[JobView],
    catalogue: CatalogueIndex,
    checkpoints: Iterable[StoredCheckpoint] = (),
    signing_keys: Sequence[bytes] = (),
) -> dict[str, Any]:
    """What `identity` contributed (§8), each item with the entry id behind it."""
    designs = _designs(identity, entries)
    views = sorted(views, key=lambda v: v.id)
    made = [v for v in views if v.lab == identity and v.step(jobs.CONFIRM) is not None]
    confirmed = [v for v in views if v.customer == identity and v.step(jobs.CONFIRM) is not None]
    reviews = [
        (v, s) for v in views for s in v.steps if s.kind == jobs.REVIEW and s.author == identity
    ]
    votes = []
    for entry in sorted(entries, key=lambda e: e.id):
        if entry.kind == VOTE and entry.author == identity:
            body = check_body(entry.kind, entry.body).model
            if isinstance(body, VoteBody):
                proposal = id_to_text(body.proposal)
                votes.append(
                    {"entry_id": id_to_text(entry.id), "proposal": proposal, "choice": body.choice}
                )

    def confirm_ref(view: JobView) -> dict[str, Any]:
        step = view.step(jobs.CONFIRM)
        assert step is not None
        return {"job": id_to_text(view.id), "title": view.offer.title,
                "entry_id": id_to_text(step.entry_id)}  # fmt: skip

    return {
        "identity": id_to_text(identity),
        "designs": [
            {"entry_id": id_to_text(e.id), "name": b.name, "as": role} for e, b, role in designs
        ],
        "derivatives": _derivatives(identity, [e.id for e, _, _ in designs], catalogue),
        "jobs_made": [confirm_ref(v) for v in made],
        "jobs_confirmed": [confirm_ref(v) for v in confirmed],
        "reviews": [
            {
                "job": id_to_text(v.id),
                "entry_id": id_to_text(s.entry_id),
                "score": getattr(s.body, "score", None),
            }
            for v, s in reviews
        ],
        "votes": votes,
        "cosignatures": _cosignatures(identity, checkpoints, signing_keys),
    }
