"""Hard caps of the protocol (specs/0001-encoding.md §4).

These are checked before or while parsing, never after. The network's rules
(governance) may lower them for a federation; nothing may raise them.
"""

from __future__ import annotations

from typing import Final

#: Largest encoded entry (envelope + body + signature) in bytes.
MAX_ENTRY_BYTES: Final = 64 * 1024
#: Most arrays and maps nested inside one another (a bare scalar has depth 0).
MAX_DEPTH: Final = 12
#: Longest text string, in UTF-8 bytes.
MAX_STR_BYTES: Final = 16 * 1024
#: Longest byte string.
MAX_BIN_BYTES: Final = 64 * 1024
#: Most elements in one array.
MAX_ARRAY_LEN: Final = 1024
#: Most pairs in one map.
MAX_MAP_LEN: Final = 256
#: Longest map key, in UTF-8 bytes.
MAX_KEY_BYTES: Final = 64
#: Longest kind name.
MAX_KIND_BYTES: Final = 64
#: Largest value of any integer (msgpack uint64) and smallest (int64).
MAX_INT: Final = 2**64 - 1
MIN_INT: Final = -(2**63)
