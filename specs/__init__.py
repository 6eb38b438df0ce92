"""The specifications, and the generator of their conformance vectors (specs/vectorgen)."""
