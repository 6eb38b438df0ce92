"""The node's C heap: fewer malloc arenas, and memory given back after large syncs.

A catch-up of 100,000 entries allocates and frees a few hundred MB in small
pieces on the storage thread and large receive buffers on the trio thread.
glibc's malloc keeps what was freed: up to 8 arenas per core (one per thread
that met contention), and a dynamic mmap threshold that, once a big buffer is
freed, serves the following big buffers from the heap where they fragment it.
So, on glibc only (elsewhere both functions do nothing):

- `tune_allocator()`, called once when the node starts (before its threads):
  at most ARENA_MAX arenas, and blocks of MMAP_THRESHOLD_BYTES or more always
  mmapped, so they return to the system when freed (mallopt(3));
- `release_memory()`, after a sync that stored many entries: malloc_trim(0)
  hands free pages of every arena back (malloc_trim(3)).

Neither changes what the node stores or answers; they only change how much
resident memory it keeps. `tune_allocator` reports whether glibc took the settings.
"""

from __future__ import annotations

import ctypes
import functools
import sys

M_MMAP_THRESHOLD = -3  # <malloc.h>
M_ARENA_MAX = -8
ARENA_MAX = 2
MMAP_THRESHOLD_BYTES = 1 << 20


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the symbols the process already has
    except OSError:
        return None
    if not all(hasattr(libc, name) for name in ("gnu_get_libc_version", "mallopt", "malloc_trim")):
        return None  # not glibc (musl has no mallopt)
    return libc


def tune_allocator() -> bool:
    """Cap glibc's arenas and fix its mmap threshold; False if not glibc or refused."""
    libc = _glibc()
    if libc is None:
        return False
    arenas = libc.mallopt(M_ARENA_MAX, ARENA_MAX)
    threshold = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    return bool(arenas == 1 and threshold == 1)


def release_memory() -> bool:
    """Give free heap pages back to the system; True if any were released."""
    libc = _glibc()
    return libc is not None and bool(libc.malloc_trim(0))
