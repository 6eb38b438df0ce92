"""The node on the network: the only package that imports libp2p (node.net.host
converts its exceptions at that boundary). Gossip, sync sessions, blob transfer and
the charter exchange, driven over node.runtime's service."""
