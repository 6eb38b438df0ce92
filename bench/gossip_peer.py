"""A plain py-libp2p gossipsub peer: the reference that bench.gossip times our nodes against.

The same host as a node's (node.net.host: Ed25519 key, Noise, Yamux, TCP on 127.0.0.1)
and the same gossipsub parameters (degree, heartbeat, protocols, message ids by hash
of the data), but nothing of Fab Commons on top: no validator, no scoring, no ledger.
What a message costs here is what py-libp2p itself costs.

Driven over stdin/stdout, one JSON object a line:
  out {"ready": {"addr": "/ip4/127.0.0.1/tcp/P/p2p/ID"}}   once listening
  in  {"connect": [addr, ...]}          -> {"ok": true}
  in  {"mesh": true}                    -> {"peers": N, "mesh": M}   of the topic
  in  {"publish": K, "bytes": S}        -> {"ok": true}   K in the payload's first 8 bytes
  in  {"report": true}                  -> {"published": {K: ns}, "received": {K: ns}}
Times are `time.monotonic_ns()` (CLOCK_MONOTONIC: one clock for the machine's processes).
End of stdin stops the peer. Run: python -m bench.gossip_peer SEED
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import multiaddr
import trio
from libp2p import new_host
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.crypto.x25519 import create_new_key_pair as create_new_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_ID
from libp2p.stream_muxer.yamux.yamux import Yamux
from libp2p.tools.anyio_service import background_trio_service

from node.net.gossipsub import gossip_router, pubsub_over
from node.net.streams import GossipConfig

TOPIC = "bench/plain/1"


def _say(obj: dict[str, Any]) -> None:
    print(json.dumps(obj), flush=True)


async def serve(seed: int) -> None:
    key_pair = create_new_key_pair(seed.to_bytes(32, "big"))
    listen = [multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")]
    host = new_host(
        key_pair=key_pair,
        sec_opt={NOISE_ID: NoiseTransport(key_pair, create_new_x25519_key_pair().private_key)},
        muxer_opt={TProtocol(YAMUX_ID): Yamux},
        listen_addrs=listen,
    )
    g = GossipConfig()
    router = gossip_router(g)
    pubsub = pubsub_over(host, router, g)
    published: dict[int, int] = {}
    received: dict[int, int] = {}
    async with (
        host.run(listen_addrs=listen),
        background_trio_service(pubsub),
        background_trio_service(router),
    ):
        await pubsub.wait_until_ready()
        subscription = await pubsub.subscribe(TOPIC)
        addr = f"{host.get_addrs()[0]}"
        if "/p2p/" not in addr:
            addr += f"/p2p/{host.get_id().to_base58()}"
        async with trio.open_nursery() as nursery:

            async def receive() -> None:
                while True:
                    message = await subscription.get()
                    key = int.from_bytes(message.data[:8], "big")
                    received.setdefault(key, time.monotonic_ns())

            nursery.start_soon(receive)
            _say({"ready": {"addr": addr}})
            while True:
                line = await trio.to_thread.run_sync(sys.stdin.readline)
                if not line:
                    break
                command = json.loads(line)
                if "connect" in command:
                    for text in command["connect"]:
                        await host.connect(info_from_p2p_addr(multiaddr.Multiaddr(text)))
                    _say({"ok": True})
                elif "mesh" in command:
                    peers = len(pubsub.peer_topics.get(TOPIC, ()))
                    _say({"peers": peers, "mesh": len(router.mesh.get(TOPIC, ()))})
                elif "publish" in command:
                    key = int(command["publish"])
                    size = max(8, int(command["bytes"]))
                    data = key.to_bytes(8, "big") + bytes(size - 8)
                    published[key] = time.monotonic_ns()
                    await pubsub.publish(TOPIC, data)
                    _say({"ok": True})
                elif "report" in command:
                    _say({"published": published, "received": received})
            nursery.cancel_scope.cancel()
    await host.close()


def main() -> None:
    trio.run(serve, int(sys.argv[1]))


if __name__ == "__main__":
    main()
