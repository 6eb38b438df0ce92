"""Interop with js-libp2p: a pinned npm peer (peer.mjs) and a raw py-libp2p peer (pyhost)."""
