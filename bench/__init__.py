"""Benchmarks: figures printed, never asserted. Run with make bench."""
