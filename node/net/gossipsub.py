"""The node's gossipsub router and pubsub over a libp2p host, with its parameters
(node.net.streams.GossipConfig). bench/gossip_peer.py builds the plain py-libp2p
reference with these same functions, so both meshes run the same parameters; this
module imports nothing of ours beyond the config, so that reference stays bare."""

from __future__ import annotations

import hashlib
from typing import Any

from libp2p.abc import IHost
from libp2p.pubsub.gossipsub import PROTOCOL_ID, PROTOCOL_ID_V11, PROTOCOL_ID_V12, GossipSub
from libp2p.pubsub.pubsub import Pubsub

from node.net.streams import GossipConfig


def msg_id(msg: Any) -> bytes:
    """A message's id: the SHA-256 of its data (the same bytes are one message)."""
    return hashlib.sha256(msg.data).digest()


def gossip_router(g: GossipConfig) -> GossipSub:
    return GossipSub(
        protocols=[PROTOCOL_ID_V12, PROTOCOL_ID_V11, PROTOCOL_ID],
        degree=g.degree,
        degree_low=g.degree_low,
        degree_high=g.degree_high,
        heartbeat_interval=g.heartbeat_interval_s,
        adaptive_gossip_enabled=False,
        max_messages_per_topic_per_second=g.max_messages_per_topic_per_second,
    )


def pubsub_over(host: IHost, router: GossipSub, g: GossipConfig) -> Pubsub:
    return Pubsub(
        host,
        router,
        strict_signing=True,
        msg_id_constructor=msg_id,
        seen_ttl=g.seen_ttl_s,
        validation_cache_ttl=g.seen_ttl_s,
    )
