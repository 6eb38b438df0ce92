"""Fab Commons node daemon: storage, networking, API and CLI. The only package doing I/O."""
