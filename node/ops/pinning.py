"""Availability by rule on this node: which design files it pins (specs/0009 §13).

`rule_pins` reads the live designs of the catalogue and the rules and members in
force, and asks ledger.pinning which blobs this node's identity pins: the node's
pinning task fetches those it lacks, and its garbage collector never evicts them
(node.ops.storage, reason "rule"). `blob_pinners` says which members should pin one
blob (`fabnode blob status`). A node on a network without a charter, or whose
identity is not a member, pins nothing by rule.

Cost: one decode of every live design entry per call (the design's files and their
sizes live in its body); the task calls it when the catalogue or the rules change.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.pinning import (
    DEFAULT_PIN_QUOTA_BYTES,
    DEFAULT_PIN_REPLICAS,
    PinnedFile,
    pin_set,
    pinners,
)
from node.ops.context import LedgerContext
from protocol import kinds
from protocol.design import DESIGN, DesignBody
from protocol.entry import read_stored_entry
from protocol.governance import Rules


@dataclass(frozen=True)
class PinRule:
    """The rule in force: the members, how many pin each blob, each one's quota."""

    members: frozenset[bytes]
    replicas: int
    quota_bytes: int


def pin_rule(ctx: LedgerContext) -> PinRule | None:
    """The pinning rule in force, or None on a network without a charter."""
    view = ctx.governance
    if view is None or view.state is None:
        return None
    return PinRule(frozenset(view.state.members), *rule_values(view.state.rules))


def rule_values(rules: Rules) -> tuple[int, int]:
    """(pin_replicas, pin_quota_bytes) of `rules`, the defaults where unset (0008 §2)."""
    replicas = DEFAULT_PIN_REPLICAS if rules.pin_replicas is None else rules.pin_replicas
    quota = DEFAULT_PIN_QUOTA_BYTES if rules.pin_quota_bytes is None else rules.pin_quota_bytes
    return replicas, quota


def design_files(ctx: LedgerContext) -> dict[bytes, PinnedFile]:
    """Every blob a live design names, with its size and the designs' authors."""
    found: dict[bytes, PinnedFile] = {}
    for design_id in ctx.catalogue.live_designs():
        where = ctx.store.locate(design_id)
        raw = None if where is None else ctx.ledger.entry_at(*where)
        if raw is None:
            continue
        entry = read_stored_entry(raw)
        body = kinds.check_body(entry.kind, entry.body).model
        if entry.kind != DESIGN or not isinstance(body, DesignBody):
            continue
        for f in body.files:
            held = found.get(f.sha256)
            authors = frozenset({entry.author}) | (held.authors if held else frozenset())
            found[f.sha256] = PinnedFile(f.size_bytes, authors)
    return found


def rule_pins(ctx: LedgerContext) -> dict[bytes, int]:
    """The blobs this node pins by rule, with their sizes (empty if not a member)."""
    rule = pin_rule(ctx)
    if rule is None or ctx.identity.id not in rule.members:
        return {}
    files = design_files(ctx)
    chosen = pin_set(ctx.identity.id, files, rule.members, rule.replicas, rule.quota_bytes)
    return {blob: files[blob].size for blob in chosen}


def blob_pinners(ctx: LedgerContext, blob_id: bytes) -> list[bytes] | None:
    """The members that should pin `blob_id` by the rule, highest weight first; None
    on a network without a charter. Empty for a blob no live design names."""
    rule = pin_rule(ctx)
    if rule is None:
        return None
    file = design_files(ctx).get(blob_id)
    if file is None:
        return []
    return pinners(blob_id, rule.members, rule.replicas, file.authors)
