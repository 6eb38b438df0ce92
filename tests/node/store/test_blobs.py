"""The blob store, the fetch/serve drivers over in-memory streams, and `fabnode blob`."""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import random
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import outcome
import pytest
import trio
import trio.testing

from node.cli import blobs as blob_cli
from node.net.blobs import FetchResult, ServeStats, fetch_blob, serve_blobs
from node.store.blobs import BlobStore, BlobStoreStatistics, NewBlob
from node.store.home import GOVERNANCE_FILE, NodeHome
from protocol.blob import (
    DEFAULT_MAX_BLOB_BYTES,
    MAX_CHUNK_BYTES,
    MAX_FRAME_BYTES,
    ErrorMessage,
    Want,
    encode_message,
)
from protocol.errors import (
    CommonsError,
    LocalMisuseError,
    RemoteFaultError,
    RuleViolationError,
    VerificationError,
)
from protocol.ids import id_from_text, id_to_text
from tests.cli_helpers import fabnode
from tests.node_process import raw_post, running_node

MiB = MAX_CHUNK_BYTES
PEER = "PeerA"  # the source of a partial's bytes: a peer id, as the store sees it


def random_bytes(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def code_of(result: outcome.Outcome[Any]) -> str:
    assert isinstance(result, outcome.Error), result
    assert isinstance(result.error, CommonsError), result.error
    return result.error.code


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# -- the store -----------------------------------------------------------------------


def test_add_is_idempotent_and_laid_out_by_id(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    data = random_bytes(3 * MiB + 5)
    source = tmp_path / "design.step"
    source.write_bytes(data)
    blob_id, size = store.add_file(source)
    assert (blob_id, size) == (hashlib.sha256(data).digest(), len(data))
    assert store.add_bytes(data) == (blob_id, size)
    assert store.add_file(source) == (blob_id, size)
    text = id_to_text(blob_id)
    assert files_under(store.folder) == [f"{text[1:3]}/{text}"]  # no temp file left
    assert store.has(blob_id) and store.size(blob_id) == size
    assert store.path_of(blob_id).read_bytes() == data


def test_statistics_count_final_blobs_only(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    assert store.statistics() == BlobStoreStatistics(0, 0)
    store.add_bytes(b"a bracket")
    store.add_bytes(b"a hinge, twice")
    store.add_bytes(b"a hinge, twice")
    data = b"half a download"
    with store.open_partial(hashlib.sha256(data).digest(), source=PEER) as partial:
        partial.append(0, data[:4])  # a partial is not a blob yet
        assert store.statistics() == BlobStoreStatistics(2, len(b"a bracket") + 14)


def test_statistics_list_again_only_the_shards_that_changed(tmp_path: Path) -> None:
    """Counted shards are reused while their folder's mtime stays (here set an hour
    back, so they count as settled); an install or a removal moves it."""
    store = BlobStore(tmp_path / "blobs")
    ids = [store.add_bytes(f"part {i}".encode())[0] for i in range(40)]

    def settle() -> None:
        for shard in store.folder.iterdir():
            if shard.name != "partial":
                os.utime(shard, ns=(shard.stat().st_mtime_ns - 3600 * 10**9,) * 2)

    def truth() -> BlobStoreStatistics:
        files = [p for p in store.folder.glob("*/*") if p.parent.name != "partial"]
        return BlobStoreStatistics(len(files), sum(p.stat().st_size for p in files))

    settle()
    assert (
        store.statistics()
        == truth()
        == BlobStoreStatistics(40, sum(len(f"part {i}") for i in range(40)))
    )
    assert len(store._shard_counts) == len({id_to_text(i)[1:3] for i in ids})
    store.add_bytes(b"one more part")
    store.delete(ids[0])
    assert store.statistics() == truth()
    settle()
    shutil.rmtree(store.path_of(ids[1]).parent)  # a whole shard gone
    assert store.statistics() == truth()
    assert id_to_text(ids[1])[1:3] not in store._shard_counts


def test_read_chunk_bounds(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    blob_id, _ = store.add_bytes(b"0123456789")
    assert store.read_chunk(blob_id, 2, 3) == b"234"
    assert store.read_chunk(blob_id, 8, 100) == b"89"
    assert store.read_chunk(blob_id, 10, 5) == b""
    for offset, length in [(11, 1), (-1, 1), (0, -1), (0, MAX_CHUNK_BYTES + 1)]:
        with pytest.raises(LocalMisuseError) as err:
            store.read_chunk(blob_id, offset, length)
        assert err.value.code == "misuse.bad-range"
    with pytest.raises(LocalMisuseError) as err:
        store.read_chunk(hashlib.sha256(b"other").digest(), 0, 1)
    assert err.value.code == "misuse.blob-missing"


@pytest.mark.parametrize("bad_id", [b"", b"x" * 31, b"x" * 33, "b" * 53])
def test_only_32_byte_ids_name_files(tmp_path: Path, bad_id: Any) -> None:
    store = BlobStore(tmp_path)
    calls: list[Callable[[Any], object]] = [
        store.has,
        store.size,
        lambda blob_id: store.open_partial(blob_id, source=PEER),
    ]
    for call in calls:
        with pytest.raises(LocalMisuseError) as err:
            call(bad_id)
        assert err.value.code == "misuse.bad-argument"


def test_the_size_limit_holds_on_add_and_on_append(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs", max_blob_bytes=100)
    big = tmp_path / "big"
    big.write_bytes(bytes(101))
    attempts: list[Callable[[], object]] = [
        lambda: store.add_bytes(bytes(101)),
        lambda: store.add_file(big),
    ]
    with store.open_partial(hashlib.sha256(b"x").digest(), source=PEER) as partial:
        partial.append(0, bytes(60))
        attempts.append(lambda: partial.append(60, bytes(41)))
        for attempt in attempts:
            with pytest.raises(RuleViolationError) as err:
                attempt()
            assert err.value.code == "rule.blob-too-large"
        assert partial.offset == 60
    assert store.add_bytes(bytes(100))[1] == 100


def test_a_partial_resumes_from_disk_and_verifies_before_it_is_final(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = random_bytes(MiB + 10)
    blob_id = hashlib.sha256(data).digest()
    with store.open_partial(blob_id, source=PEER) as partial:
        partial.append(0, data[:1000])
        with pytest.raises(LocalMisuseError) as err:
            partial.append(999, data[999:2000])
        assert err.value.code == "misuse.bad-range"
    assert not store.has(blob_id)
    partial = store.open_partial(blob_id, source=PEER)  # as after a restart
    assert partial.offset == 1000
    partial.append(1000, data[1000:])
    assert partial.finish() == len(data)
    assert store.path_of(blob_id).read_bytes() == data
    assert not store.partial_path(blob_id).exists() and not partial.is_open


def test_a_partial_holds_the_bytes_of_one_source_only(tmp_path: Path) -> None:
    """0009 §6: a partial resumes only for the peer that sent its bytes; opened for
    another, it drops them first, so a hash that fails names one sender."""
    store = BlobStore(tmp_path)
    data = random_bytes(5000)
    blob_id = hashlib.sha256(data).digest()
    assert store.partial_source(blob_id) is None
    with store.open_partial(blob_id, source="PeerA") as partial:
        partial.append(0, data[:1000])
    assert store.partial_source(blob_id) == "PeerA"
    with store.open_partial(blob_id, source="PeerA") as partial:  # the same peer resumes
        assert (partial.offset, partial.dropped_bytes) == (1000, 0)
    partial = store.open_partial(blob_id, source="PeerB")  # another: starts over
    assert (partial.offset, partial.dropped_bytes) == (0, 1000)
    assert store.partial_path(blob_id).stat().st_size == 0
    assert store.partial_source(blob_id) is None  # nothing held yet
    partial.append(0, data[:2000])
    partial.close()
    assert store.partial_source(blob_id) == "PeerB"
    with store.open_partial(blob_id, source="PeerA") as partial:
        assert (partial.offset, partial.dropped_bytes) == (0, 2000)
        partial.append(0, data)
        assert partial.finish() == len(data)
    assert files_under(tmp_path / "partial") == []  # the source record goes with it


@pytest.mark.parametrize("record", [None, b"", b"\xff\xfe", b"P" * 257])
def test_a_partial_without_a_readable_source_is_not_trusted(
    tmp_path: Path, record: bytes | None
) -> None:
    """A partial with no source record (an older node's, or one whose record was lost
    in a crash) or one we did not write is dropped, whoever asks."""
    store = BlobStore(tmp_path)
    blob_id = hashlib.sha256(b"x").digest()
    store.partial_path(blob_id).write_bytes(b"someone's bytes")
    if record is not None:
        store.source_path(blob_id).write_bytes(record)
    assert store.partial_source(blob_id) is None
    with store.open_partial(blob_id, source="PeerA") as partial:
        assert (partial.offset, partial.dropped_bytes) == (0, 15)
        partial.discard()
    assert files_under(tmp_path / "partial") == []


@pytest.mark.parametrize("source", ["", "é", "P" * 257])
def test_a_source_is_short_ascii_text(tmp_path: Path, source: str) -> None:
    with pytest.raises(LocalMisuseError) as err:
        BlobStore(tmp_path).open_partial(hashlib.sha256(b"x").digest(), source=source)
    assert err.value.code == "misuse.bad-argument"


def test_a_partial_with_the_wrong_bytes_is_deleted(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    blob_id = hashlib.sha256(b"the right bytes").digest()
    partial = store.open_partial(blob_id, source=PEER)
    partial.append(0, b"the wrong bytes")
    with pytest.raises(VerificationError) as err:
        partial.finish()
    assert err.value.code == "verify.blob-hash-mismatch"
    assert not store.has(blob_id) and files_under(tmp_path) == []


def test_one_download_per_blob_at_a_time(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    blob_id = hashlib.sha256(b"x").digest()
    with store.open_partial(blob_id, source=PEER):
        with pytest.raises(LocalMisuseError) as err:  # another store on the same folder
            BlobStore(tmp_path).open_partial(blob_id, source=PEER)
        assert err.value.code == "misuse.blob-busy"
    store.open_partial(blob_id, source=PEER).close()  # released on close


def test_a_partial_and_a_final_copy_can_coexist(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = b"a design file"
    blob_id = hashlib.sha256(data).digest()
    partial = store.open_partial(blob_id, source=PEER)
    partial.append(0, data[:4])
    assert not store.has(blob_id)  # a partial is not held
    assert store.add_bytes(data) == (blob_id, len(data))  # someone adds it meanwhile
    partial.append(4, data[4:])
    assert partial.finish() == len(data)
    assert store.path_of(blob_id).read_bytes() == data
    assert files_under(tmp_path) == [str(store.path_of(blob_id).relative_to(tmp_path))]


def test_a_new_blob_written_in_pieces_is_named_by_its_hash(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs", max_blob_bytes=100)
    with store.new_blob() as blob:
        for piece in (b"ab", b"", b"c" * 98):
            blob.write(piece)
        blob_id, size = blob.finish()
    assert (blob_id, size) == (hashlib.sha256(b"ab" + b"c" * 98).digest(), 100)
    assert files_under(store.folder) == [str(store.path_of(blob_id).relative_to(store.folder))]
    with store.new_blob() as blob:
        blob.write(bytes(60))
        with pytest.raises(RuleViolationError) as err:
            blob.write(bytes(41))  # past the limit: refused, and the temp file removed
        assert err.value.code == "rule.blob-too-large"
        with pytest.raises(LocalMisuseError):
            blob.write(b"x")
    with store.new_blob() as blob:
        blob.write(b"left unfinished")
    assert files_under(store.folder / "partial") == []


def test_os_errors_become_blob_io(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    with pytest.raises(LocalMisuseError) as err:
        store.add_file(tmp_path)  # a folder
    assert err.value.code == "misuse.blob-io"
    blob_id, _ = store.add_bytes(b"abc")
    with pytest.raises(LocalMisuseError) as err:
        store.export_to(blob_id, tmp_path / "no-such-folder" / "out")
    assert err.value.code == "misuse.blob-io"


def test_export_checks_the_hash(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    blob_id, _ = store.add_bytes(b"abc")
    assert store.export_to(blob_id, tmp_path / "out") == 3
    assert (tmp_path / "out").read_bytes() == b"abc"
    store.path_of(blob_id).write_bytes(b"abd")  # bit rot
    with pytest.raises(VerificationError) as err:
        store.export_to(blob_id, tmp_path / "out2")
    assert err.value.code == "verify.blob-hash-mismatch"
    assert not (tmp_path / "out2").exists()


# -- fetching over an in-memory stream -------------------------------------------------

Write = Callable[[bytes], Awaitable[None]]


async def transfer(
    server_store: BlobStore,
    client_store: BlobStore,
    blob_id: bytes,
    max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES,
    server_write: Callable[[Write], Write] = lambda w: w,
    source: str = PEER,
) -> tuple[outcome.Outcome[FetchResult], outcome.Outcome[ServeStats]]:
    """Run fetch_blob against serve_blobs; the client closes its end when done."""
    client, server = trio.testing.memory_stream_pair()
    served: list[outcome.Outcome[ServeStats]] = []

    async def serve() -> None:
        write = server_write(server.send_all)
        served.append(await outcome.acapture(serve_blobs, server.receive_some, write, server_store))
        await server.aclose()  # however it ended, the client then reads the end

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        fetched = await outcome.acapture(
            functools.partial(fetch_blob, source=source),
            client.receive_some,
            client.send_all,
            client_store,
            blob_id,
            max_blob_bytes,
        )
        await client.aclose()
    return fetched, served[0]


async def test_a_20_mb_blob_round_trip(tmp_path: Path) -> None:
    data = random_bytes(20 * 1000 * 1000)
    server_store, client_store = BlobStore(tmp_path / "a"), BlobStore(tmp_path / "b")
    blob_id, _ = server_store.add_bytes(data)
    fetched, served = await transfer(server_store, client_store, blob_id)
    assert fetched.unwrap() == FetchResult(blob_id, "stored", len(data), 0, len(data))
    assert served.unwrap() == ServeStats(chunks=20, not_held=0, data_bytes=len(data))
    assert client_store.path_of(blob_id).read_bytes() == data
    again, _ = await transfer(server_store, client_store, blob_id)
    assert again.unwrap().status == "held"


async def test_a_cancelled_fetch_resumes_where_it_stopped(tmp_path: Path) -> None:
    data = random_bytes(6 * MiB + 123)
    server_store, client_store = BlobStore(tmp_path / "a"), BlobStore(tmp_path / "b")
    blob_id, _ = server_store.add_bytes(data)
    client, server = trio.testing.memory_stream_pair()
    written = {"frames": 0, "bytes": 0}
    seen = {"bytes": 0}

    async def stalling_write(frame: bytes) -> None:  # the server goes quiet after 3 chunks
        if written["frames"] == 3:
            await trio.sleep_forever()
        written["frames"] += 1
        written["bytes"] += len(frame)
        await server.send_all(frame)

    async def read(max_bytes: int) -> bytes | bytearray:
        if written["frames"] == 3 and seen["bytes"] == written["bytes"]:  # all handled
            nursery.cancel_scope.cancel()
        data = await client.receive_some(max_bytes)
        seen["bytes"] += len(data)
        return data

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_blobs, server.receive_some, stalling_write, server_store)
        await fetch_blob(
            read, client.send_all, client_store, blob_id, DEFAULT_MAX_BLOB_BYTES, source=PEER
        )
    assert written["frames"] == 3
    assert client_store.partial_path(blob_id).stat().st_size == 3 * MiB
    fetched, served = await transfer(server_store, client_store, blob_id)
    assert fetched.unwrap() == FetchResult(
        blob_id, "stored", len(data), 3 * MiB, len(data) - 3 * MiB
    )
    assert served.unwrap().data_bytes == len(data) - 3 * MiB
    assert client_store.path_of(blob_id).read_bytes() == data
    assert files_under(client_store.folder / "partial") == []


async def test_a_lying_server_is_caught_and_nothing_is_stored(tmp_path: Path) -> None:
    data = random_bytes(2 * MiB + 7)
    server_store, client_store = BlobStore(tmp_path / "a"), BlobStore(tmp_path / "b")
    blob_id, _ = server_store.add_bytes(data)
    server_store.path_of(blob_id).write_bytes(data[:-1] + b"?")  # same size, wrong bytes
    fetched, _ = await transfer(server_store, client_store, blob_id)
    assert code_of(fetched) == "verify.blob-hash-mismatch"
    assert files_under(client_store.folder) == []


async def test_a_prefix_from_one_peer_is_never_resumed_from_another(tmp_path: Path) -> None:
    """specs/0012 §5 finding 8: a hostile server sends two chunks of garbage and goes
    away; an honest one then serves the blob from its first byte (the garbage is
    dropped, not resumed), and the hash holds."""
    data = random_bytes(3 * MiB + 5)
    honest, hostile = BlobStore(tmp_path / "honest"), BlobStore(tmp_path / "hostile")
    client_store = BlobStore(tmp_path / "client")
    blob_id, _ = honest.add_bytes(data)
    hostile.add_bytes(data)
    hostile.path_of(blob_id).write_bytes(bytes(len(data)))  # the same size, the wrong bytes

    def gone_after_two(write: Write) -> Write:
        frames = [0]

        async def write_two(frame: bytes) -> None:
            if frames[0] == 2:
                raise trio.BrokenResourceError  # the server's side breaks: its task ends
            frames[0] += 1
            await write(frame)

        return write_two

    fetched, _ = await transfer(
        hostile, client_store, blob_id, server_write=gone_after_two, source="Hostile"
    )
    assert code_of(fetched) == "remote.closed"
    assert client_store.partial_source(blob_id) == "Hostile"
    assert client_store.partial_path(blob_id).stat().st_size == 2 * MiB
    fetched, _ = await transfer(honest, client_store, blob_id, source="Honest")
    assert fetched.unwrap() == FetchResult(blob_id, "stored", len(data), 0, len(data), 2 * MiB)
    assert client_store.path_of(blob_id).read_bytes() == data


async def test_a_blob_over_the_limit_is_refused_before_any_byte_is_written(tmp_path: Path) -> None:
    server_store, client_store = BlobStore(tmp_path / "a"), BlobStore(tmp_path / "b")
    blob_id, size = server_store.add_bytes(random_bytes(3 * MiB))
    fetched, _ = await transfer(server_store, client_store, blob_id, max_blob_bytes=size - 1)
    assert code_of(fetched) == "remote.blob-too-large"
    assert files_under(client_store.folder) == []


async def test_a_blob_the_server_does_not_hold(tmp_path: Path) -> None:
    server_store, client_store = BlobStore(tmp_path / "a"), BlobStore(tmp_path / "b")
    blob_id = hashlib.sha256(b"nobody has this").digest()
    fetched, served = await transfer(server_store, client_store, blob_id)
    assert fetched.unwrap() == FetchResult(blob_id, "missing", None, 0, 0)
    assert served.unwrap() == ServeStats(chunks=0, not_held=1, data_bytes=0)
    assert files_under(client_store.folder) == []


async def test_a_partial_longer_than_the_blob_is_dropped(tmp_path: Path) -> None:
    server_store, client_store = BlobStore(tmp_path / "a"), BlobStore(tmp_path / "b")
    blob_id, _ = server_store.add_bytes(b"short")
    with client_store.open_partial(blob_id, source=PEER) as partial:
        partial.append(0, b"a lie about a longer blob")
    fetched, served = await transfer(server_store, client_store, blob_id)
    assert code_of(fetched) == "remote.refused"
    assert served.unwrap().chunks == 0
    assert files_under(client_store.folder) == []
    fetched, _ = await transfer(server_store, client_store, blob_id)  # then it works
    assert fetched.unwrap().status == "stored"


async def test_a_silent_server_times_out(tmp_path: Path, autojump_clock: trio.abc.Clock) -> None:
    client, _server = trio.testing.memory_stream_pair()
    blob_id = hashlib.sha256(b"x").digest()
    store = BlobStore(tmp_path)
    with pytest.raises(RemoteFaultError) as err:
        await fetch_blob(client.receive_some, client.send_all, store, blob_id, 100, source=PEER)
    assert err.value.code == "remote.timeout"
    assert files_under(tmp_path) == []


async def test_a_server_says_why_it_refuses(tmp_path: Path) -> None:
    client, server = trio.testing.memory_stream_pair()
    await client.send_all(encode_message(Want(bytes(32), 0, MAX_CHUNK_BYTES + 1)))
    with pytest.raises(RemoteFaultError) as err:
        await serve_blobs(server.receive_some, server.send_all, BlobStore(tmp_path))
    assert err.value.code == "remote.want-too-large"
    reply = await client.receive_some(MAX_FRAME_BYTES)
    assert reply == encode_message(ErrorMessage("remote.want-too-large", err.value.message))


# -- fabnode blob ----------------------------------------------------------------------


def blob_args(home: Path, **kwargs: Any) -> argparse.Namespace:
    return argparse.Namespace(home=home, json=True, **kwargs)


def test_cli_add_then_get(tmp_path: Path) -> None:
    home = tmp_path / "lab"
    NodeHome(home).create_identity()
    source = tmp_path / "bracket.stl"
    source.write_bytes(random_bytes(70_000))
    added = blob_cli.cmd_add(blob_args(home, file=source))
    assert (
        added["size"] == 70_000
        and id_from_text(added["blob"]) == hashlib.sha256(source.read_bytes()).digest()
    )
    assert (home / "blobs").is_dir()
    out = tmp_path / "copy.stl"
    got = blob_cli.cmd_get(blob_args(home, blob=added["blob"], output=out))
    assert got["size"] == 70_000 and out.read_bytes() == source.read_bytes()
    assert os.stat(out).st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({"blob": id_to_text(bytes(32))}, "misuse.blob-missing"),
        ({"blob": "not-an-id"}, "decode.bad-id"),
    ],
)
def test_cli_get_errors(tmp_path: Path, args: dict[str, Any], code: str) -> None:
    home = tmp_path / "lab"
    NodeHome(home).create_identity()
    with pytest.raises(CommonsError) as err:
        blob_cli.cmd_get(blob_args(home, output=tmp_path / "out", **args))
    assert err.value.code == code


def test_cli_needs_an_initialised_home(tmp_path: Path) -> None:
    with pytest.raises(LocalMisuseError) as err:
        blob_cli.cmd_add(blob_args(tmp_path / "typo", file=tmp_path))
    assert err.value.code == "misuse.no-identity"
    assert not (tmp_path / "typo").exists()


def test_cli_commands_parse() -> None:
    parser = argparse.ArgumentParser()
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true")
    blob_cli.add_commands(parser.add_subparsers(), common)
    args = parser.parse_args(["blob", "get", "HASH", "-o", "f", "--json"])
    assert args.handler is blob_cli.cmd_get and args.output == Path("f") and args.json
    args = parser.parse_args(["blob", "add", "f.step"])
    assert args.handler is blob_cli.cmd_add and args.file == Path("f.step")


def _post_blob(url: str, token: str, body: bytes, *, declared: int | None) -> tuple[int, Any]:
    """POST /api/v1/blobs: `body` sent after a Content-Length of `declared` (only the
    headers if `body` is longer: a refusal must come before the body), else chunked."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"}
    send = declared is None or len(body) == declared
    return raw_post(url, "/api/v1/blobs", headers, [body] if send else [], declared=declared)


@pytest.mark.integration
def test_blob_add_goes_through_a_running_node_under_the_federations_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a node runs, `blob add` sends the file to POST /api/v1/blobs (the CLI never
    writes the store itself); the node streams it into its store under the federation's
    blob size rule, and the CLI refuses what the node would, as it does offline."""
    home = tmp_path / "lab"
    assert fabnode("init", home=home)[0] == 0
    rule_bytes = 3 * MiB
    (home / GOVERNANCE_FILE).write_text(json.dumps({"rules": {"max_blob_bytes": rule_bytes}}))
    source, big = tmp_path / "bracket.stl", tmp_path / "big.bin"
    source.write_bytes(random_bytes(2 * MiB + 5))
    big.write_bytes(bytes(rule_bytes + 1))
    with running_node(home) as (_, ready):
        with monkeypatch.context() as m:
            m.setattr(BlobStore, "add_file", _no_second_writer)
            m.setattr(NewBlob, "write", _no_second_writer)
            added = blob_cli.cmd_add(blob_args(home, file=source))
            with pytest.raises(RuleViolationError) as err:
                blob_cli.cmd_add(blob_args(home, file=big))
            assert err.value.code == "rule.blob-too-large"
        blob_id = id_from_text(added["blob"])
        assert blob_id == hashlib.sha256(source.read_bytes()).digest()
        assert added["size"] == 2 * MiB + 5
        assert BlobStore(home / "blobs").path_of(blob_id).read_bytes() == source.read_bytes()
        token = (home / "api.token").read_text().strip()
        url = ready["api"]
        assert _post_blob(url, token, b"", declared=0)[1]["size"] == 0
        for declared in (rule_bytes + 1, None):  # declared too large, or found so on the way
            status, body = _post_blob(url, token, bytes(rule_bytes + 1), declared=declared)
            assert (status, body["error"]["code"]) == (403, "rule.blob-too-large")
        assert _post_blob(url, "wrong", b"x", declared=1)[0] == 401
        assert files_under(home / "blobs" / "partial") == []
    with pytest.raises(RuleViolationError) as err:  # no node: written directly, same rule
        blob_cli.cmd_add(blob_args(home, file=big))
    assert err.value.code == "rule.blob-too-large"
    assert blob_cli.cmd_add(blob_args(home, file=source)) == added


def _no_second_writer(*_: object) -> None:
    raise AssertionError("the CLI wrote the store while the node runs")
