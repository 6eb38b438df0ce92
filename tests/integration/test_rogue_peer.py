"""A rogue peer against a real node process: invalid gossip is rejected, never stored.

The rogue is a libp2p host in this process that accepts anything it publishes;
the node is a `fabnode run` process. Everything the rogue sends is wrong in one
way: a forged signature, non-canonical bytes, another network, garbage, a garbage
checkpoint or fork proof (specs/0005 §10).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from node.net.host import HostConfig, P2PHost, Verdict, open_host
from node.net.network import announce_topic
from protocol.announce import encode_announcement
from protocol.ids import id_from_text
from tests.cli_helpers import fabnode
from tests.factory import Author
from tests.node_process import api, running_node

pytestmark = pytest.mark.integration


def accept_all(_peer: str, _data: bytes) -> Verdict:
    return Verdict.ACCEPT


def junk(network: bytes) -> list[bytes]:
    author = Author("rogue", network=network)
    author.note("looks fine")
    forged = bytearray(author.entries[1].raw)
    forged[-1] ^= 1
    good = encode_announcement(network, [e.raw for e in author.entries])
    elsewhere = Author("rogue", network=hashlib.sha256(b"another network").digest())
    return [
        encode_announcement(network, [author.entries[0].raw, bytes(forged)]),
        good.replace(b"\xa1v\x01", b"\xa1v\xcc\x01"),  # the same, with a wide integer
        encode_announcement(network, [elsewhere.entries[0].raw]),
        b"\x93garbage",
        encode_announcement(network, checkpoints=[b"not a checkpoint"]),
        encode_announcement(network, forks=[b"not a fork proof"]),
    ]


@asynccontextmanager
async def rogue_beside_a_node(
    tmp_path: Path, seed: bytes
) -> AsyncIterator[tuple[Path, P2PHost, bytes, str]]:
    """A real node, and a rogue host in its announce topic's mesh: (home, rogue,
    network id, topic)."""
    home = tmp_path / "lab"
    assert fabnode("init", home=home)[0] == 0
    with running_node(home) as (_, ready):
        status = await trio.to_thread.run_sync(api, home, "GET", "/api/v1/status")
        network = id_from_text(status["network"]["id"])
        topic = announce_topic(network)
        async with open_host(HostConfig(key_seed=hashlib.sha256(seed).digest())) as rogue:
            await rogue.subscribe(topic, accept_all)
            await rogue.connect(ready["listen"][0])
            with trio.fail_after(30):
                while not rogue.statistics().topics.get(topic, (0, 0))[1]:
                    await trio.sleep(0.05)
            yield home, rogue, network, topic


async def banned(home: Path, peer: str) -> dict[str, Any]:
    """The node's status once it has banned `peer`."""
    with trio.fail_after(60):
        while True:
            status: dict[str, Any] = await trio.to_thread.run_sync(
                api, home, "GET", "/api/v1/status"
            )
            if peer in status["banned_peers"]:
                return status
            await trio.sleep(0.1)


async def test_invalid_gossip_is_rejected_and_the_sender_banned(tmp_path: Path) -> None:
    async with rogue_beside_a_node(tmp_path, b"rogue") as (home, rogue, network, topic):
        for round_ in range(4):
            for message in junk(network):
                await rogue.publish(topic, message + bytes(round_))
        status = await banned(home, rogue.peer_id)
    sync = status["sync"]
    assert sync["announcements_rejected"] >= 10
    refused = sync["refused"][rogue.peer_id]  # by code, summing to every rejection
    assert sum(refused.values()) == sync["announcements_rejected"]
    assert {"verify.bad-signature", "verify.wrong-network"} <= set(refused), refused
    assert sync["announcements_accepted"] == 0 and sync["gossip_entries_stored"] == 0
    assert status["logs"] == []  # nothing of the rogue was stored


async def test_unverifiable_gossip_is_neither_relayed_nor_free(tmp_path: Path) -> None:
    """specs/0012 §5 findings 7 and 11: announcements of entries beyond the head of
    logs we lack are IGNOREd (not stored, not relayed, the sender synced with), and past
    a budget of 30 each one costs the sender a quarter of a penalty, until it is banned."""
    async with rogue_beside_a_node(tmp_path, b"claims") as (home, rogue, network, topic):
        for i in range(120):
            author = Author(f"claimer-{i}", network=network)
            author.note("a")
            author.note("b")  # seq 3 of a log nobody here holds: cannot be checked
            await rogue.publish(topic, encode_announcement(network, [author.entries[2].raw]))
        status = await banned(home, rogue.peer_id)
    sync = status["sync"]
    assert sync["announcements_unverified"] >= 30 and sync["announcements_accepted"] == 0
    assert sync["refused"][rogue.peer_id]["remote.over-budget"] >= 1
    assert status["logs"] == []
