"""Field readers of the sync messages (specs/0005-sync.md §3): each takes one decoded
value and the field's name, and returns it typed or raises SyncViolationError naming
the field (`bad-message`, or `oversized` for a list or byte string over its cap).
protocol.sync_messages builds its parsers from them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any, Final, TypeVar

from protocol import limits

ID_BYTES: Final = 32
HASH_BYTES: Final = 32
_KIND_PATTERN = re.compile(r"[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*")


class SyncViolationError(Exception):
    """A message or transition the protocol forbids; `reason` is the code suffix."""

    def __init__(self, reason: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.field = field


T = TypeVar("T")


def bad(message: str, field: str) -> SyncViolationError:
    return SyncViolationError("bad-message", message, field)


def oversized(message: str, field: str) -> SyncViolationError:
    return SyncViolationError("oversized", message, field)


def check_keys(m: dict[str, Any], want: frozenset[str], *, extra_ok: bool = False) -> None:
    missing = sorted(want - m.keys())
    if missing:
        raise bad(f"missing field {missing[0]!r}", missing[0])
    extra = [] if extra_ok else sorted(m.keys() - want)
    if extra:
        raise bad(f"unexpected field {extra[0]!r}", extra[0])


def read_uint(value: Any, field: str, lo: int = 0, hi: int = limits.MAX_INT) -> int:
    if type(value) is not int or not lo <= value <= hi:
        raise bad(f"want an integer in [{lo}, {hi}]", field)
    return value


def read_bool(value: Any, field: str) -> bool:
    if type(value) is not bool:
        raise bad("want a boolean", field)
    return value


def read_bin(value: Any, field: str, lo: int, hi: int) -> bytes:
    if type(value) is not bytes:
        raise bad("want bytes", field)
    if len(value) > hi:
        raise oversized(f"got {len(value)} bytes, limit {hi}", field)
    if len(value) < lo:
        raise bad(f"got {len(value)} bytes, want at least {lo}", field)
    return value


def read_id(value: Any, field: str) -> bytes:
    if type(value) is not bytes or len(value) != ID_BYTES:
        raise bad(f"want {ID_BYTES} bytes", field)
    return value


def read_list(value: Any, field: str, hi: int, item: Callable[[Any, str], T]) -> tuple[T, ...]:
    if type(value) is not list:
        raise bad("want an array", field)
    if len(value) > hi:
        raise oversized(f"got {len(value)} items, limit {hi}", field)
    return tuple(item(v, field) for v in value)


def check_ascending(items: tuple[Any, ...], field: str, key: Callable[[Any], bytes]) -> None:
    for a, b in itertools.pairwise(items):
        if not key(a) < key(b):
            raise bad("items must be unique and in ascending order", field)


def read_entry(value: Any, field: str) -> bytes:
    return read_bin(value, field, 1, limits.MAX_ENTRY_BYTES)


def read_hash(value: Any, field: str) -> bytes:
    if type(value) is not bytes or len(value) != HASH_BYTES:
        raise bad(f"want {HASH_BYTES}-byte hashes", field)
    return value


def read_kind(value: Any, field: str) -> str:
    ok = type(value) is str and len(value.encode()) <= limits.MAX_KIND_BYTES
    if not ok or not _KIND_PATTERN.fullmatch(value):
        raise bad("want kind names", field)
    return str(value)
