"""Fab Commons open-licence registry and derivative rules."""
