"""The node's event hub (node.events): fan-out, bounded queues, delivery from threads."""

from __future__ import annotations

import json

import trio
import trio.testing

from node.runtime.events import MAX_ROWS_PER_EVENT, QUEUE_EVENTS, Event, EventHub, encode_sse
from protocol.ids import id_to_text
from tests.factory import Author


async def test_every_subscriber_gets_every_event_in_order() -> None:
    hub = EventHub()
    first, second = hub.subscribe(), hub.subscribe()
    for i in range(3):
        hub.publish("progress", {"operation": "verify", "done": i, "total": 2})
    for receive in (first, second):
        got = [receive.receive_nowait() for _ in range(3)]
        assert [e.data["done"] for e in got] == [0, 1, 2]
        assert [e.id for e in got] == [1, 2, 3]
    assert hub.statistics().subscribers == 2


async def test_a_slow_subscriber_is_dropped_and_never_blocks_the_others() -> None:
    hub = EventHub()
    slow, fast = hub.subscribe(), hub.subscribe()
    for i in range(QUEUE_EVENTS + 1):  # publish never waits, even with a full queue
        hub.publish("entries", {"n": i})
        fast.receive_nowait()
    assert [slow.receive_nowait().data["n"] for _ in range(QUEUE_EVENTS)] == list(
        range(QUEUE_EVENTS)
    )
    try:
        slow.receive_nowait()
        raise AssertionError("a dropped subscriber's stream must end")
    except trio.EndOfChannel:
        pass
    hub.publish("entries", {"n": "after"})
    assert fast.receive_nowait().data == {"n": "after"}
    stats = hub.statistics()
    assert (stats.subscribers, stats.dropped_subscribers) == (1, 1)


async def test_a_closed_subscriber_is_forgotten_on_the_next_event() -> None:
    hub = EventHub()
    receive = hub.subscribe()
    await receive.aclose()
    hub.publish("entries", {})
    assert hub.statistics().subscribers == 0


async def test_committed_entries_arrive_from_another_thread() -> None:
    hub = EventHub(token=trio.lowlevel.current_trio_token())
    receive = hub.subscribe()
    author = Author("events")
    entries = [author.note(f"n{i}") for i in range(MAX_ROWS_PER_EVENT + 5)]
    await trio.to_thread.run_sync(hub.from_thread_committed, entries[:2])
    await trio.to_thread.run_sync(hub.from_thread_committed, entries)
    small, large = await receive.receive(), await receive.receive()
    assert small.name == "entries" and small.data["count"] == 2
    assert [r["id"] for r in small.data["entries"]] == [id_to_text(e.id) for e in entries[:2]]
    assert large.data["count"] == len(entries)  # a big batch: its size and its last rows
    tail = entries[-MAX_ROWS_PER_EVENT:]
    assert [r["id"] for r in large.data["entries"]] == [id_to_text(e.id) for e in tail]


async def test_nothing_is_computed_without_subscribers_and_progress_is_throttled() -> None:
    hub = EventHub(token=trio.lowlevel.current_trio_token())
    hub.from_thread_committed([Author("quiet").note("nobody listens")])
    receive = hub.subscribe()
    for done in range(100):
        hub.from_thread_progress("verify", done, 100)
    hub.from_thread_progress("verify", 100, 100)  # the last one always goes out
    await trio.testing.wait_all_tasks_blocked()
    got = []
    while True:
        try:
            got.append(receive.receive_nowait())
        except trio.WouldBlock:
            break
    assert [e.name for e in got] == ["progress"] * len(got)
    assert 2 <= len(got) < 10 and got[-1].data == {"operation": "verify", "done": 100, "total": 100}


def test_server_sent_event_framing() -> None:
    raw = encode_sse(Event("progress", {"done": 1, "text": "a\nb"}, 7)).decode()
    lines = raw.split("\n")
    assert lines[:2] == ["id: 7", "event: progress"] and raw.endswith("\n\n")
    assert json.loads(lines[2].removeprefix("data: ")) == {"done": 1, "text": "a\nb"}
