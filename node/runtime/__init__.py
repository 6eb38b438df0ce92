"""The running node under trio: the storage thread (the only writer), the service
the API and the network call, the ingest pipeline, events, the governance driver.
Uses node.ops and node.store; knows nothing of libp2p or HTTP."""
