"""node/net/host.py against real py-libp2p hosts on 127.0.0.1, all in this process.

Waiting is always "poll a condition under a deadline" (`wait_until`, trio.fail_after),
never a fixed sleep.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import itertools
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace

import pytest
import trio

from node.net.host import (
    HostConfig,
    Message,
    P2PHost,
    ScoreConfig,
    Stream,
    Subscription,
    Verdict,
    open_host,
    read_frame,
    write_frame,
)
from node.store.peerid import peer_id_from_seed
from protocol.errors import LocalMisuseError, RemoteFaultError
from protocol.framing import FrameDecoder

TOPIC = "fab/test/announce"
MiB = 1024 * 1024
ECHO = "/fab/test-echo/1"
SILENT = "/fab/test-silent/1"
FAILING = "/fab/test-failing/1"
TRUNCATING = "/fab/test-truncating/1"
FRAME_LIMIT = 2 * MiB


def seed(i: int) -> bytes:
    return hashlib.sha256(b"test host %d" % i).digest()


def config(i: int, ban_after_rejects: float | None = 10.0) -> HostConfig:
    return HostConfig(key_seed=seed(i), scoring=ScoreConfig(ban_after_rejects=ban_after_rejects))


def accept_all(from_peer: str, data: bytes) -> Verdict:
    return Verdict.ACCEPT


def marker_validator(from_peer: str, data: bytes) -> Verdict:
    if data.startswith(b"BAD"):
        return Verdict.REJECT
    if data.startswith(b"IGN"):
        return Verdict.IGNORE
    return Verdict.ACCEPT


async def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    with trio.fail_after(timeout_s):
        while not condition():
            await trio.sleep(0.02)


def topic_has(host: P2PHost, sizes: tuple[int, int]) -> bool:
    return host.statistics().topics[TOPIC] == sizes


def rejects_over(host: P2PHost, peer: str, count: float) -> bool:
    return host.statistics().rejects[peer] > count


async def next_message(sub: Subscription, timeout_s: float = 10.0) -> Message:
    with trio.fail_after(timeout_s):
        return await anext(sub)


@asynccontextmanager
async def open_line(
    configs: list[HostConfig], validators: Sequence[Callable[[str, bytes], Verdict]]
) -> AsyncIterator[tuple[list[P2PHost], list[Subscription]]]:
    """Hosts connected in a line (0-1-2-...), each subscribed to TOPIC, meshes formed."""
    async with AsyncExitStack() as stack:
        hosts = [await stack.enter_async_context(open_host(c)) for c in configs]
        subs = [await h.subscribe(TOPIC, v) for h, v in zip(hosts, validators, strict=True)]
        for left, right in itertools.pairwise(hosts):
            assert await right.connect(left.listen_addrs[0]) == left.peer_id
        for i, h in enumerate(hosts):
            want = 1 if i in (0, len(hosts) - 1) else 2
            await wait_until(functools.partial(topic_has, h, (want, want)))
        yield hosts, subs


def test_peer_id_of_a_seed_is_stable_and_checked() -> None:
    assert peer_id_from_seed(seed(1)) == peer_id_from_seed(seed(1)) != peer_id_from_seed(seed(2))
    assert peer_id_from_seed(seed(1)).startswith("12D3KooW")  # Ed25519, identity multihash
    with pytest.raises(LocalMisuseError) as e:
        peer_id_from_seed(b"short")
    assert e.value.code == "misuse.bad-key-seed"


async def test_host_reports_its_bound_address_and_identity() -> None:
    async with open_host(config(1)) as host:
        assert host.peer_id == peer_id_from_seed(seed(1))
        [addr] = host.listen_addrs
        assert addr.startswith("/ip4/127.0.0.1/tcp/")
        assert not addr.startswith("/ip4/127.0.0.1/tcp/0/")
        assert addr.endswith(f"/p2p/{host.peer_id}")


async def test_a_connection_opened_or_closed_is_told_at_once() -> None:
    """on_connections_changed: the watcher hears of a connection in either direction
    and of its end, without polling."""
    async with open_host(config(1)) as a, open_host(config(2)) as b:
        heard: list[list[str]] = []
        stop = a.on_connections_changed(lambda: heard.append(a.connected_peers()))
        await b.connect(a.listen_addrs[0])
        await wait_until(lambda: [b.peer_id] in heard)
        heard.clear()
        async with open_host(config(3)) as c:
            await a.connect(c.listen_addrs[0])
            await wait_until(lambda: sorted([b.peer_id, c.peer_id]) in heard)
        await wait_until(lambda: heard[-1] == [b.peer_id])
        stop()
        heard.clear()
        async with open_host(config(4)) as d:
            await d.connect(a.listen_addrs[0])
            await wait_until(lambda: d.peer_id in a.connected_peers())
        assert heard == []  # stopped: told nothing more


@pytest.mark.integration
async def test_gossip_crosses_a_relay_and_ids_are_content_hashes() -> None:
    async with open_line([config(1), config(2), config(3)], [accept_all] * 3) as (hosts, subs):
        a, _, c = hosts
        assert a.peer_id not in c.connected_peers()
        await c.publish(TOPIC, b"hello")
        got = await next_message(subs[0])
        assert got == Message(c.peer_id, b"hello", hashlib.sha256(b"hello").digest())
        await c.publish(TOPIC, b"hello")  # same bytes: same message, dropped as seen
        await c.publish(TOPIC, b"next")
        assert (await next_message(subs[0])).data == b"next"
        assert (await next_message(subs[1])).data == b"hello"  # B got it too, once
        assert (await next_message(subs[1])).data == b"next"


@pytest.mark.integration
async def test_thirty_quick_publishes_all_arrive_through_a_relay() -> None:
    async with open_line([config(1), config(2), config(3)], [accept_all] * 3) as (hosts, subs):
        sent = [b"burst %d" % i for i in range(30)]
        for data in sent:
            await hosts[2].publish(TOPIC, data)
        got = [(await next_message(subs[0])).data for _ in sent]
        assert sorted(got) == sorted(sent)


@pytest.mark.integration
async def test_publishing_faster_than_the_spam_limit_is_paced_not_dropped() -> None:
    async with open_line([config(1), config(2), config(3)], [accept_all] * 3) as (hosts, subs):
        sent = [b"flood %d" % i for i in range(120)]  # paced to 50 per topic per second
        start = trio.current_time()
        for data in sent:
            await hosts[2].publish(TOPIC, data)
        assert trio.current_time() - start > 1.5  # publish waited instead of dropping
        got = [(await next_message(subs[0])).data for _ in sent]
        assert sorted(got) == sorted(sent)


@pytest.mark.integration
async def test_rejected_messages_are_not_relayed_and_cost_the_sender() -> None:
    configs = [config(1), config(2, ban_after_rejects=3), config(3)]
    validators = [accept_all, marker_validator, accept_all]
    async with open_line(configs, validators) as (hosts, subs):
        a, b, c = hosts
        await c.publish(TOPIC, b"BAD 1")
        await c.publish(TOPIC, b"IGN 1")
        await c.publish(TOPIC, b"good 1")
        assert (await next_message(subs[0])).data == b"good 1"  # A never sees BAD/IGN
        stats = b.statistics()
        assert stats.rejects == {c.peer_id: pytest.approx(1.0, abs=0.05)}  # IGN: no penalty
        assert stats.peer_scores[c.peer_id] < stats.peer_scores[a.peer_id]
        for i, want in ((2, 1.9), (3, 2.9), (4, 3.8)):  # the count decays 1 %/s
            await c.publish(TOPIC, b"BAD %d" % i)
            await wait_until(functools.partial(rejects_over, b, c.peer_id, want))
            assert b.statistics().peer_scores.get(c.peer_id, 0.0) < 0
        await wait_until(lambda: c.peer_id not in b.connected_peers())  # 4 > 3: banned
        assert b.statistics().banned_peers == [c.peer_id]
        b.set_stream_handler(ECHO, echo)
        with pytest.raises(RemoteFaultError):  # C may dial again, but B serves it nothing
            stream = await c.open_stream(b.peer_id, ECHO)
            await stream.read_some(1, timeout_s=5)


@pytest.mark.integration
async def test_fresh_peer_ids_from_a_banned_address_are_banned_sooner() -> None:
    """specs/0012 §5 finding 10: a new id from an address whose ids were banned buys
    half as many faults each time (10, 5, 2.5), not a fresh 10."""
    async with open_host(config(1)) as node:
        charges = []
        for i in (2, 3, 4):
            async with open_host(config(i)) as attacker:
                await attacker.connect(node.listen_addrs[0])
                n = 0
                while attacker.peer_id not in node.statistics().banned_peers:
                    node.penalise(attacker.peer_id, "remote.bad-frame")
                    n += 1
                charges.append(n)
        assert charges in ([10, 5, 3], [11, 5, 3], [10, 6, 3], [11, 6, 3], [11, 6, 4])
        assert node.statistics().address_bans == {"127.0.0.1": pytest.approx(3.0, abs=0.01)}


@pytest.mark.integration
async def test_libp2p_score_gate_silences_a_peer_below_the_publish_threshold() -> None:
    configs = [config(1), config(2, ban_after_rejects=None), config(3)]
    async with open_line(configs, [accept_all, marker_validator, accept_all]) as (hosts, subs):
        _, b, c = hosts
        for i in range(13):  # 13 x -10 < -120: the publish threshold
            await c.publish(TOPIC, b"BAD %d" % i)
        await wait_until(lambda: b.statistics().peer_scores[c.peer_id] < -120)
        assert c.peer_id in b.connected_peers()  # libp2p 0.8.1 never disconnects...
        await c.publish(TOPIC, b"good, but from a peer with a bad score")
        with trio.move_on_after(1) as waited:  # ...but drops its messages unvalidated
            await anext(subs[1])
        assert waited.cancelled_caught


async def test_own_publish_is_validated_too() -> None:
    async with open_host(config(1)) as host:
        await host.subscribe(TOPIC, marker_validator)
        await host.publish(TOPIC, b"IGN ours")  # nothing new to us may be new to others
        with pytest.raises(LocalMisuseError) as e:
            await host.publish(TOPIC, b"BAD ours")
        assert e.value.code == "misuse.publish-rejected"
        assert host.statistics().rejects == {}  # we do not count against ourselves
        with pytest.raises(LocalMisuseError) as e2:
            await host.subscribe(TOPIC, accept_all)
        assert e2.value.code == "misuse.already-subscribed"


async def test_unsubscribe_ends_the_subscription() -> None:
    async with open_host(config(1)) as host:
        sub = await host.subscribe(TOPIC, accept_all)
        await sub.unsubscribe()
        assert [m async for m in sub] == []
        await host.subscribe(TOPIC, accept_all)  # and the topic can be joined again


async def test_listen_addresses_are_checked() -> None:
    with pytest.raises(LocalMisuseError) as quic:
        async with open_host(replace(config(1), listen=["/ip4/127.0.0.1/udp/0/quic-v1"])):
            pass
    assert quic.value.code == "misuse.bad-multiaddr"
    async with open_host(config(1)) as first:
        busy = first.listen_addrs[0].rsplit("/p2p/", 1)[0]
        with pytest.raises(LocalMisuseError) as taken:  # libp2p alone would share the port
            async with open_host(replace(config(2), listen=[busy])):
                pass
        assert taken.value.code == "misuse.listen-failed"


def decoder() -> FrameDecoder:
    return FrameDecoder(max_frame_bytes=FRAME_LIMIT, max_bin_bytes=FRAME_LIMIT, max_array_len=16)


async def echo(stream: Stream) -> None:
    frames = decoder()
    while (request := await read_frame(stream, frames, timeout_s=10)) is not None:
        reply = {"n": len(request["blob"]), "blob": request["blob"][::-1]}
        await write_frame(stream, reply, max_frame_bytes=FRAME_LIMIT, timeout_s=10)


async def failing(stream: Stream) -> None:
    await stream.write(b"\x00\x00\x00\x10partial", timeout_s=5)  # 16 announced, 7 sent
    raise RemoteFaultError("remote.bad-message", "the handler gives up")


async def truncating(stream: Stream) -> None:
    await stream.write(b"\x00\x00\x00\x10partial", timeout_s=5)  # then a clean close


async def silent(stream: Stream) -> None:
    while await stream.read_some(1024, timeout_s=10):
        pass  # reads forever, never answers


@asynccontextmanager
async def two_connected() -> AsyncIterator[tuple[P2PHost, P2PHost]]:
    async with open_host(config(1)) as server, open_host(config(2)) as client:
        server.set_stream_handler(ECHO, echo)
        server.set_stream_handler(SILENT, silent)
        server.set_stream_handler(FAILING, failing)
        server.set_stream_handler(TRUNCATING, truncating)
        await client.connect(server.listen_addrs[0])
        yield server, client


@pytest.mark.integration
async def test_request_response_with_one_mebibyte_frames() -> None:
    async with two_connected() as (server, client):
        stream = await client.open_stream(server.peer_id, ECHO)
        assert (stream.remote_peer, stream.protocol) == (server.peer_id, ECHO)
        frames = decoder()
        for i in range(3):
            blob = bytes([i]) * MiB + b"end"
            await write_frame(stream, {"blob": blob}, max_frame_bytes=FRAME_LIMIT, timeout_s=10)
            reply = await read_frame(stream, frames, timeout_s=10)
            assert reply == {"n": len(blob), "blob": blob[::-1]}
        await stream.close()


@pytest.mark.integration
async def test_stream_failures_are_typed() -> None:
    async with two_connected() as (server, client):
        stream = await client.open_stream(server.peer_id, SILENT)
        await write_frame(stream, {"blob": b"x"}, max_frame_bytes=FRAME_LIMIT, timeout_s=5)
        with pytest.raises(RemoteFaultError) as timeout:
            await read_frame(stream, decoder(), timeout_s=0.3)
        assert timeout.value.code == "remote.timeout"
        with pytest.raises(LocalMisuseError):  # a timed-out stream is reset
            await stream.write(b"more", timeout_s=1)

        for protocol, code in (
            (FAILING, "remote.stream-reset"),
            (TRUNCATING, "remote.truncated-frame"),
        ):
            stream = await client.open_stream(server.peer_id, protocol)
            with pytest.raises(RemoteFaultError) as failed:
                await read_frame(stream, decoder(), timeout_s=5)
            assert failed.value.code == code

        with pytest.raises(RemoteFaultError) as unsupported:
            await client.open_stream(server.peer_id, "/fab/nobody-speaks-this/1")
        assert unsupported.value.code == "remote.protocol-unsupported"

        with trio.socket.socket() as sock:
            await sock.bind(("127.0.0.1", 0))
            closed_port = sock.getsockname()[1]
        with pytest.raises(RemoteFaultError) as dial:
            await client.connect(
                f"/ip4/127.0.0.1/tcp/{closed_port}/p2p/{peer_id_from_seed(seed(9))}"
            )
        assert dial.value.code == "remote.dial-failed"
        with pytest.raises(RemoteFaultError) as unknown:  # no address known for it
            await client.open_stream(peer_id_from_seed(seed(8)), ECHO)
        assert unknown.value.code == "remote.dial-failed"


async def test_bad_addresses_are_local_misuse() -> None:
    async with open_host(config(1)) as host:
        for bad in ("not a multiaddr", "/ip4/127.0.0.1/tcp/4001"):
            with pytest.raises(LocalMisuseError) as e:
                await host.connect(bad)
            assert e.value.code == "misuse.bad-multiaddr"


def all_tasks() -> set[trio.lowlevel.Task]:
    found: set[trio.lowlevel.Task] = set()
    root = trio.lowlevel.current_root_task()
    assert root is not None
    todo = [root]
    while todo:
        task = todo.pop()
        found.add(task)
        todo += [child for nursery in task.child_nurseries for child in nursery.child_tasks]
    return found


async def test_leaving_open_host_leaves_no_tasks_behind() -> None:
    before, threads = all_tasks(), set(threading.enumerate())
    async with open_host(config(1)) as a, open_host(config(2)) as b:
        await b.connect(a.listen_addrs[0])
        await a.subscribe(TOPIC, accept_all)
        await b.subscribe(TOPIC, accept_all)
        await wait_until(lambda: a.statistics().topics[TOPIC][1] == 1)
        await b.publish(TOPIC, b"bye")
        assert len(all_tasks()) > len(before)
    gc.collect()  # unclosed sockets or channels would warn here (warnings are errors)
    assert all_tasks() - before == set()
    assert set(threading.enumerate()) - threads == set()


class FakeRaw:
    """A RawStream that hands out `chunks` one read at a time, then waits for ever."""

    def __init__(self, chunks: list[bytes], *, end: bool = False) -> None:
        self.chunks = chunks
        self.end = end
        self.written: list[bytes] = []
        self.was_reset = False

    async def read(self, max_bytes: int) -> bytes:
        if self.chunks:
            await trio.lowlevel.checkpoint()
            return self.chunks.pop(0)[:max_bytes]
        if self.end:
            return b""
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def write(self, data: bytes) -> None:
        await trio.sleep(1)  # a slow peer
        self.written.append(data)

    async def close(self) -> None:
        pass

    async def reset(self) -> None:
        self.was_reset = True


def fake_stream(raw: FakeRaw) -> Stream:
    return Stream(raw, remote_peer="12D3KooWfake", protocol="/fab/test/1")


async def test_frames_are_assembled_from_short_reads(autojump_clock: trio.abc.Clock) -> None:
    frame = (4).to_bytes(4, "big") + b"\x81\xa1a\x01"  # {"a": 1}
    two = frame + frame
    stream = fake_stream(FakeRaw([two[i : i + 1] for i in range(len(two))], end=True))
    frames = decoder()
    assert await read_frame(stream, frames, timeout_s=1) == {"a": 1}
    assert await read_frame(stream, frames, timeout_s=1) == {"a": 1}
    assert await read_frame(stream, frames, timeout_s=1) is None  # clean end
    assert await stream.read_some(10, timeout_s=1) == b""  # and it stays ended


async def test_deadlines_reset_the_stream(autojump_clock: trio.abc.Clock) -> None:
    raw = FakeRaw([b"\x00\x00"])  # half a header, then silence
    stream = fake_stream(raw)
    with pytest.raises(RemoteFaultError) as e:
        await read_frame(stream, decoder(), timeout_s=30)  # for the whole frame
    assert (e.value.code, raw.was_reset) == ("remote.timeout", True)
    with pytest.raises(LocalMisuseError) as closed:
        await stream.read_some(1, timeout_s=1)
    assert closed.value.code == "misuse.stream-closed"

    raw = FakeRaw([])
    with pytest.raises(RemoteFaultError) as slow:
        await fake_stream(raw).write(b"x", timeout_s=0.5)
    assert (slow.value.code, raw.was_reset, raw.written) == ("remote.timeout", True, [])


class SlowLink(FakeRaw):
    """A link that moves 64 KiB a second: a write takes as long as its size says."""

    async def write(self, data: bytes) -> None:
        await trio.sleep(len(data) / (64 * 1024))
        self.written.append(data)


async def test_a_long_write_that_keeps_making_progress_is_not_cut_off(
    autojump_clock: trio.abc.Clock,
) -> None:
    """1 MiB over a 64 KiB/s link takes 16 s, the deadline is 1.5 s: the deadline bounds
    a write's time without progress, not its length (a 1 MiB sync frame on a 256 kbit/s
    link takes ~33 s and must still arrive). A link that stops moving still times out."""
    raw = SlowLink([])
    data = bytes(range(256)) * (MiB // 256)
    started = trio.current_time()
    await fake_stream(raw).write(data, timeout_s=1.5)
    assert b"".join(raw.written) == data and not raw.was_reset
    assert trio.current_time() - started >= 16
    stalled = FakeRaw([])  # every write hangs 1 s: no progress within 0.5 s
    with pytest.raises(RemoteFaultError) as e:
        await fake_stream(stalled).write(data, timeout_s=0.5)
    assert (e.value.code, stalled.was_reset) == ("remote.timeout", True)


async def test_a_bad_frame_header_resets_the_stream(autojump_clock: trio.abc.Clock) -> None:
    raw = FakeRaw([(FRAME_LIMIT + 1).to_bytes(4, "big")])
    with pytest.raises(RemoteFaultError) as e:
        await read_frame(fake_stream(raw), decoder(), timeout_s=1)
    assert (e.value.code, raw.was_reset) == ("remote.bad-frame", True)
