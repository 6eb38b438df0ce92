"""Governance on a running node: charter exchange, witnessing, the view kept fresh.

(specs/0008-governance.md §1.3, §4.1, §7.)

- `/fabcommons/charter/1`: a stream protocol that hands a federation's charter to a
  joining node. The client sends the 32-byte network id it wants; a node of that
  network answers with the canonical charter bytes and closes (anything else: it closes
  with nothing). `fetch_charter` checks the hash of what it got against the network id,
  so no peer can hand out another federation's charter.
- `GovernanceDriver.run`: every GOVERNANCE_INTERVAL_S, on the storage thread, the view
  is refreshed at the node's time (plus the test clock offset of a test federation),
  and, if this node is a member, it cosigns the latest checkpoint of every other
  member's log it holds in full (ledger.Ledger.witness_latest). Cosigned checkpoints
  are gossiped; peers merge the cosignature lines into the notes they keep. The rules
  in force are applied: blob size limit of the blob store, and governance.json in the
  home for local commands.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio

from node.net.host import P2PHost, Stream
from node.ops import context as operations
from node.ops.context import LedgerContext
from node.ops.governance_view import GovernanceView, allow_list_of
from node.store.home import GOVERNANCE_FILE
from protocol.announce import MAX_ANNOUNCE_CHECKPOINTS, encode_announcement
from protocol.errors import CommonsError, LocalMisuseError, RemoteFaultError
from protocol.governance import (
    MAX_CHARTER_BYTES,
    Charter,
    charter_bytes,
    charter_network_id,
    decode_charter,
)
from protocol.ids import ID_BYTES, id_to_text

if TYPE_CHECKING:
    from node.net.network import Network

log = logging.getLogger(__name__)

CHARTER_PROTOCOL_ID = "/fabcommons/charter/1"
CHARTER_IO_TIMEOUT_S = 30.0
GOVERNANCE_INTERVAL_S = 1.0


async def serve_charter(charter: Charter, stream: Stream) -> None:
    """Answer one charter request (the stream is closed by the caller)."""
    wanted = b""
    while len(wanted) < ID_BYTES:
        data = await stream.read_some(ID_BYTES - len(wanted), CHARTER_IO_TIMEOUT_S)
        if not data:
            return
        wanted += data
    if wanted == charter_network_id(charter):
        await stream.write(charter_bytes(charter), CHARTER_IO_TIMEOUT_S)


async def fetch_charter(host: P2PHost, maddr: str, network: bytes) -> Charter:
    """The charter of `network` from the peer at `maddr`, checked against the id."""
    peer = await host.connect(maddr)
    stream = await host.open_stream(peer, CHARTER_PROTOCOL_ID)
    try:
        await stream.write(network, CHARTER_IO_TIMEOUT_S)
        data = b""
        while len(data) <= MAX_CHARTER_BYTES:
            chunk = await stream.read_some(MAX_CHARTER_BYTES + 1 - len(data), CHARTER_IO_TIMEOUT_S)
            if not chunk:
                break
            data += chunk
    finally:
        await stream.close()
    if not data:
        raise RemoteFaultError(
            "remote.charter-unavailable", f"{peer} holds no charter of {id_to_text(network)}"
        )
    charter = decode_charter(data)
    if charter_network_id(charter) != network:
        raise RemoteFaultError(
            "remote.wrong-charter", f"{peer} sent a charter whose hash is not the network id"
        )
    return charter


@dataclass
class PassResult:
    """What one governance pass on the storage thread produced."""

    cosigned: list[bytes]
    signed: list[bytes]
    own_checkpoint: bytes | None
    changed: bool


def governance_pass(ctx: LedgerContext) -> PassResult:
    """Refresh the view; as a member, publish our log if it is new and witness others."""
    view = ctx.governance
    assert view is not None
    now_s = view.now_s()
    view.refresh(ctx.ledger, now_s)
    assert view.state is not None
    in_force = (view.state.members, view.state.rules)
    changed = view.applied != in_force  # (API reads refresh the view too)
    view.applied = in_force
    me = ctx.identity.id
    result = PassResult([], [], None, changed)
    if me not in view.state.members:
        return result
    if ctx.ledger.head(ctx.network, me) is None:  # witnesses need our key: our inception
        result.signed = [e.raw for e in operations.append_own(ctx, [])]
        checkpoint = ctx.ledger.latest_checkpoint(ctx.network, me)
        result.own_checkpoint = None if checkpoint is None else checkpoint.text
    key = ctx.home.signing_key()
    for member in sorted(view.state.members - {me}):
        head = ctx.ledger.head(ctx.network, member)
        if head is None or view.witnessed.get(member) == head.size:
            continue
        try:
            signed = ctx.ledger.witness_latest(key, me, ctx.network, member, now_s)
        except CommonsError as e:
            log.info("not witnessing %s: %s", id_to_text(member), e.code)
            continue
        if signed is not None:
            result.cosigned.append(signed.text)
            view.witnessed[member] = signed.checkpoint.size
    if changed:
        ctx.catalogue.allow_list = allow_list_of(view.state.rules)
        write_governance_file(ctx)
    return result


def write_governance_file(ctx: LedgerContext) -> None:
    """The rules in force for local commands (`fabnode blob add` reads max_blob_bytes)."""
    view = ctx.governance
    assert view is not None and view.state is not None
    data = {
        "network": id_to_text(ctx.network),
        "rules": view.state.rules.model_dump(),
        "members": sorted(id_to_text(m) for m in view.state.members),
        "at_s": view.refreshed_at_s,
    }
    tmp = ctx.home.path / (GOVERNANCE_FILE + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(ctx.home.path / GOVERNANCE_FILE)


class GovernanceDriver:
    """Runs the governance passes of one node and serves its charter."""

    def __init__(self, network: Network, view: GovernanceView) -> None:
        self.network = network
        self.view = view
        self.passes = 0
        self.cosignatures_made = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        charter = self.view.charter
        self.network.host.set_stream_handler(
            CHARTER_PROTOCOL_ID, functools.partial(serve_charter, charter)
        )
        self._apply_rules()
        await self.network.service.on_ledger(write_governance_file)
        task_status.started()
        while True:
            await self.run_pass()
            await trio.sleep(GOVERNANCE_INTERVAL_S)

    async def run_pass(self) -> None:
        service = self.network.service
        result = await service.on_ledger(governance_pass)
        self.passes += 1
        if result.signed:
            await self.network.announce(result.signed, result.own_checkpoint)
        notes = result.cosigned
        self.cosignatures_made += len(notes)
        for i in range(0, len(notes), MAX_ANNOUNCE_CHECKPOINTS):
            chunk = notes[i : i + MAX_ANNOUNCE_CHECKPOINTS]
            data = encode_announcement(self.network.network, [], chunk, [])
            try:
                await self.network.host.publish(self.network.topic, data)
            except CommonsError as e:
                log.warning("cosignatures not published: %s", e)
        if result.changed:
            self._apply_rules()

    def _apply_rules(self) -> None:
        assert self.view.state is not None
        self.network.blobs.max_blob_bytes = self.view.state.rules.max_blob_bytes

    def status(self) -> dict[str, Any]:
        state = self.view.state
        assert state is not None
        return {
            "governance": {
                "passes": self.passes,
                "cosignatures_made": self.cosignatures_made,
                "members": len(state.members),
                "clock_offset_s": self.view.clock_offset_s,
                "now_s": int(time.time()) + self.view.clock_offset_s,
            }
        }


def set_clock_offset(view: GovernanceView, offset_s: int) -> None:
    """Move a test federation's clock (specs/0008 §1.2); refused on any other."""
    if not view.charter.test:
        raise LocalMisuseError(
            "misuse.not-a-test-federation", "only a test federation's clock can be moved"
        )
    if offset_s < view.clock_offset_s:
        raise LocalMisuseError("misuse.clock-backwards", "the test clock only moves forward")
    view.clock_offset_s = offset_s
