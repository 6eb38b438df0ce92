"""Live events of a running node, for the dashboard and scripts (README "Local API").

The hub fans out two kinds of event to every subscriber of `/api/v1/events`:

- `entries`: entries the ledger has just committed — our own, gossip and sync
  alike — in the short form of `fabnode ledger log` (node.operations.entry_row).
  A large batch (a catch-up sync) is sent as its size and its last
  `MAX_ROWS_PER_EVENT` rows; with no subscriber nothing is computed at all.
  It is fed by the catalogue's commit hook, which runs on the storage thread; the
  hook hands the rows to the trio loop with `TrioToken.run_sync_soon` (thread-safe,
  never blocks the storage thread).
- `progress`: long operations (ledger verification, sync sessions) as
  `{operation, done, total}`; throttled at the source.

Guarantees: each subscriber has its own bounded queue (`QUEUE_EVENTS`); a
subscriber whose queue is full is dropped (its stream ends with a `dropped`
event), so a slow client never blocks the node nor other clients. Events are not
stored: a client that reconnects reads what it missed from the API.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import trio

from node.ops.context import entry_row
from protocol.entry import Entry

QUEUE_EVENTS = 256
#: An `entries` event carries the last rows of a batch and the batch's size.
MAX_ROWS_PER_EVENT = 64
PROGRESS_EVERY_S = 0.25


@dataclass
class Event:
    name: str
    data: dict[str, Any]
    id: int = 0


@dataclass
class HubStatistics:
    subscribers: int
    published: int
    dropped_subscribers: int


@dataclass
class _Subscriber:
    send: trio.MemorySendChannel[Event]
    dropped: bool = False


@dataclass
class EventHub:
    """Fan-out of node events; every method except `from_thread_*` runs on the trio loop."""

    token: trio.lowlevel.TrioToken | None = None
    _subscribers: list[_Subscriber] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _published: int = 0
    _dropped: int = 0
    _last_progress: dict[str, float] = field(default_factory=dict)

    def publish(self, name: str, data: dict[str, Any]) -> None:
        event = Event(name, data, next(self._ids))
        self._published += 1
        for sub in list(self._subscribers):
            try:
                sub.send.send_nowait(event)
            except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                self._drop(sub)

    def subscribe(self) -> trio.MemoryReceiveChannel[Event]:
        """A new subscriber's queue; closing it (or being dropped) unsubscribes."""
        send, receive = trio.open_memory_channel[Event](QUEUE_EVENTS)
        self._subscribers.append(_Subscriber(send))
        return receive

    def _drop(self, sub: _Subscriber) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)
        if not sub.dropped:
            sub.dropped = True
            self._dropped += 1
        sub.send.close()  # the reader sees the end of its stream

    def statistics(self) -> HubStatistics:
        return HubStatistics(len(self._subscribers), self._published, self._dropped)

    # -- from the storage thread (or any thread) -------------------------------------
    def from_thread_committed(self, entries: Sequence[Entry]) -> None:
        """The catalogue's commit hook: queue the rows for the loop; never blocks."""
        if self.token is None or not entries or not self._subscribers:
            return  # nobody listens: a catch-up sync pays nothing for the stream
        rows = [entry_row(e) for e in entries[-MAX_ROWS_PER_EVENT:]]
        self._soon("entries", {"entries": rows, "count": len(entries)})

    def from_thread_progress(self, operation: str, done: int, total: int) -> None:
        """Progress of a long operation; at most one event per PROGRESS_EVERY_S, and the last."""
        now = time.monotonic()
        if done < total and now - self._last_progress.get(operation, 0.0) < PROGRESS_EVERY_S:
            return
        self._last_progress[operation] = now
        self._soon("progress", {"operation": operation, "done": done, "total": total})

    def _soon(self, name: str, data: dict[str, Any]) -> None:
        if self.token is None:
            return
        with contextlib.suppress(trio.RunFinishedError):  # stopping: nobody listens
            self.token.run_sync_soon(self.publish, name, data)


def encode_sse(event: Event) -> bytes:
    """One server-sent event (WHATWG HTML §9.2): id, event name, one data line of JSON."""
    data = json.dumps(event.data, separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.name}\ndata: {data}\n\n".encode()
