"""Fab Commons wire protocol: canonical encoding, identities, signed entries, kinds."""
