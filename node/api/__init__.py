"""The local HTTP API and dashboard: the FastAPI app (node.api.app), its guard, one
router module per feature (`routes(...)` in each), live events and the web files
(`web/`). Calls node.runtime's service; never libp2p directly."""
