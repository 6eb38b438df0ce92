"""Coverage-guided fuzz targets: one function per decoder or state machine (specs/0012).

Each target takes arbitrary bytes and feeds them to one input surface of the node the
way a peer, a file or a user would. The contract every target checks is the one of
specs/0001-encoding.md §6: bad input ends in a typed `CommonsError` of the family the
surface promises (a decoder raises DecodeError/VerificationError, a machine raises
RemoteFaultError), never in another exception, a hang or a crash. A target raises
whatever else escapes; the fuzzer reports that as a crash with the input that caused it.

`TARGETS` names every target with its seeds: deterministic inputs taken from the
conformance vectors in specs/vectors/ (and small meshes and manifests built here), so
a run starts from valid records and their known mutations rather than from nothing.
Seeds are pure data; nothing here reads the clock or a random source.
"""

from __future__ import annotations

import functools
import json
import struct
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from pydantic import BaseModel, ValidationError

from ledger.checkpoint import (
    cosignatures_in,
    decode_note,
    decode_signed_checkpoint,
    witness_name,
)
from ledger.forkproof import verify_fork_proof
from ledger.gossip import check_announcement
from ledger.inclusion import check_bundle
from ledger.log import Ledger, checkpoint_side
from ledger.store import MemoryLogStore, decode_head
from ledger.witness import WitnessState, witness_checkpoint
from licenses.derive import derive
from licenses.families import assess
from licenses.okh import import_losh_toml, import_okh_v1_yaml
from licenses.spdx import parse_expression
from node.api import app as api
from node.api import capabilities as capability_api
from node.api import governance as governance_api
from node.api import jobs as jobs_api
from node.api import live as live_api
from node.ops.geometry import analyse_mesh
from protocol import blob, blob_route, canonical, framing, jobs, kinds
from protocol.address import (
    MAX_ADDRESS_FRAME_BYTES,
    MAX_DIALBACK_FRAME_BYTES,
    decode_address_frame,
    decode_address_record,
    decode_dialback_request,
    decode_dialback_response,
    judge_records,
)
from protocol.announce import encode_announcement
from protocol.capability import ADVERT, AdvertBody, validate_advert
from protocol.entry import decode_entry, read_stored_entry
from protocol.errors import (
    CommonsError,
    DecodeError,
    LocalMisuseError,
    RemoteFaultError,
    VerificationError,
)
from protocol.governance import decode_charter, parse_charter_toml
from protocol.host_binding import (
    MAX_MEMBERSHIP_FRAME_BYTES,
    decode_host_binding,
    decode_membership_request,
    decode_membership_response,
)
from protocol.identity import development_network, identity_id
from protocol.jobstate import derive_job
from protocol.jsonform import from_json as untagged
from protocol.keys import SigningKey
from protocol.okw import advert_from_okw, advert_to_okw
from protocol.reconcile import MIN_MESSAGE_BYTES, Reconciler
from protocol.sealed import SealPrivateKey, open_sealed
from protocol.sync import (
    Closed,
    Get,
    Heads,
    Hello,
    Message,
    NeedData,
    Reconcile,
    RemoteError,
    SyncConnection,
)
from protocol.sync_limits import MAX_SYNC_FRAME_BYTES, RECONCILE_VERSION
from tests.jobs_factory import TTL_S, JobStory, bid_body, step_body
from tests.paths import ROOT

VECTORS = ROOT / "specs" / "vectors"
MANIFESTS = ROOT.parent / "shared" / "data" / "okh-losh" / "manifest_files"
NETWORK = development_network("fuzz")
BLOB_ID = bytes(range(32))
WITNESS_KEY = SigningKey(bytes(range(32, 64)))
WITNESS_NAME = witness_name(identity_id(WITNESS_KEY.public, WITNESS_KEY.public))
#: The vectors' clock, 2026-01-01T00:00:00Z; a witness step's clock is this + 0..65535 s.
WITNESS_T0_S = 1_767_225_600


#: What a decoder that also verifies may raise: malformed, or well-formed but not valid.
CHECKED = (DecodeError, VerificationError)


class UntypedError(AssertionError):
    """A target's input ended in a CommonsError of a family its surface never promises."""


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    run: Callable[[bytes], None]
    seeds: Callable[[], list[bytes]]
    description: str


def _typed(call: Callable[[], Any], *allowed: type[CommonsError]) -> None:
    """Run `call`; a CommonsError is fine unless it is a LocalMisuseError (peer input is
    never our misuse) or not among `allowed` when given."""
    try:
        call()
    except LocalMisuseError as e:
        raise UntypedError(f"peer input raised local misuse {e.code}") from e
    except CommonsError as e:
        if allowed and not isinstance(e, allowed):
            raise UntypedError(f"{type(e).__name__} {e.code} not in {allowed}") from e


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _pieces(data: bytes) -> Iterator[bytes]:
    """Cut `data` where its first byte says: reads of 1..256 bytes, as a stream would."""
    if not data:
        return
    size = data[0] + 1
    rest = data[1:]
    for start in range(0, len(rest), size):
        yield rest[start : start + size]


# -- decoders -------------------------------------------------------------------------------


def fuzz_canonical(data: bytes) -> None:
    try:
        value = canonical.decode(data)
    except LocalMisuseError:
        raise
    except CommonsError:
        return
    if canonical.encode(value) != data:  # what decode accepts, encode gives back exactly
        raise AssertionError("canonical round trip changed the bytes")


def fuzz_entry(data: bytes) -> None:
    _typed(lambda: decode_entry(data), *CHECKED)
    _typed(lambda: read_stored_entry(data), *CHECKED)


def fuzz_body(data: bytes) -> None:
    """Every registered kind's body model on one decoded map (never raises by contract)."""
    try:
        body = canonical.decode(data)
    except CommonsError:
        return
    if isinstance(body, dict):
        for kind in kinds.known_kinds():
            kinds.check_body(kind, body)


def fuzz_checkpoint(data: bytes) -> None:
    _typed(lambda: decode_note(data), DecodeError)

    def cosigned() -> None:
        signed = decode_signed_checkpoint(data)
        names = {s.name: bytes(32) for s in signed.signatures}
        cosignatures_in(signed, names)

    _typed(cosigned, *CHECKED)


@functools.cache
def _witness_material() -> tuple[tuple[bytes, bytes], ...]:
    """(author key, signed note) of every step of the ledger/witness vectors, in order."""
    pairs = []
    for item in _vector_inputs("ledger/witness"):
        key = bytes.fromhex(item["author_public_key_hex"])
        pairs += [(key, step["note"].encode()) for step in item["steps"]]
    return tuple(dict.fromkeys(pairs))


def _witness_steps(data: bytes) -> Iterator[tuple[int, list[bytes], int]]:
    """Steps read from `data`: a note's index, a proof of 0-7 hashes, a clock in seconds."""
    at = 0
    while at + 2 <= len(data):
        index, count = data[at], data[at + 1] % 8
        proof = [data[at + 2 + 32 * i : at + 34 + 32 * i] for i in range(count)]
        at += 2 + 32 * count
        now_s = WITNESS_T0_S + int.from_bytes(data[at : at + 2], "big")
        at += 2
        yield index, proof, now_s


def fuzz_witness(data: bytes) -> None:
    """A witness fed real signed checkpoints (from the vectors) with any proofs and clock:
    it cosigns or refuses with a VerificationError/ProofError, never cosigns a rollback."""
    material = _witness_material()
    state = WitnessState()
    for index, proof, now_s in _witness_steps(data):
        key, note = material[index % len(material)]
        signed = decode_signed_checkpoint(note)
        before = state.head(signed.checkpoint.origin)
        try:
            state, _ = witness_checkpoint(
                state, signed, key, proof, witness_key=WITNESS_KEY, witness_name=WITNESS_NAME,
                now_s=now_s,
            )  # fmt: skip
        except VerificationError:
            continue
        after = state.head(signed.checkpoint.origin)
        if before is not None and after is not None and after.size < before.size:
            raise AssertionError("the witness cosigned a smaller tree than before")


def _witness_seeds() -> list[bytes]:
    index = {pair: i for i, pair in enumerate(_witness_material())}
    seeds = []
    for item in _vector_inputs("ledger/witness"):
        key = bytes.fromhex(item["author_public_key_hex"])
        seed = b""
        for step in item["steps"]:
            proof = [bytes.fromhex(h) for h in step["proof_hex"]][:7]
            seed += bytes([index[key, step["note"].encode()], len(proof)]) + b"".join(proof)
            seed += max(0, min(0xFFFF, step["now_s"] - WITNESS_T0_S)).to_bytes(2, "big")
        seeds.append(seed)
    return seeds


def fuzz_fork_proof(data: bytes) -> None:
    _typed(lambda: verify_fork_proof(data, checkpoint_verifier=checkpoint_side), *CHECKED)


def fuzz_inclusion(data: bytes) -> None:
    try:
        bundle = json.loads(data)
    except (ValueError, RecursionError):
        return  # not JSON: the JSON parser's business, not ours
    _typed(lambda: check_bundle(bundle), *CHECKED)


def fuzz_announce(data: bytes) -> None:
    check_announcement(data, NETWORK, Ledger(MemoryLogStore()))


def fuzz_head(data: bytes) -> None:
    _typed(lambda: decode_head(data), DecodeError)


def fuzz_address_record(data: bytes) -> None:
    """A signed address record (specs/0014 §2) and an exchange frame (§3) of any bytes."""
    _typed(lambda: decode_address_record(data, NETWORK, WITNESS_T0_S * 1000), *CHECKED)

    def frame() -> None:
        records = decode_address_frame(canonical.decode(data, max_bytes=MAX_ADDRESS_FRAME_BYTES))
        judge_records(records, NETWORK, WITNESS_T0_S * 1000)

    def dialback() -> None:
        value = canonical.decode(data, max_bytes=MAX_DIALBACK_FRAME_BYTES)
        _typed(lambda: decode_dialback_request(value), DecodeError)
        _typed(lambda: decode_dialback_response(value), DecodeError)

    _typed(frame, DecodeError)
    _typed(dialback, DecodeError)


def fuzz_blob_route(data: bytes) -> None:
    """A frame's value of /fabcommons/blob-route/1 (specs/0009 §12), read as a message,
    then judged as the answer to a `have` and to a `get`."""

    def route() -> None:
        value = canonical.decode(data, max_bytes=blob_route.MAX_ROUTE_FRAME_BYTES)
        message = blob_route.decode_message(value)
        assert blob_route.encode_message(message) == value  # what is read, is written back
        have, get = blob_route.Have((bytes(32),)), blob_route.Get(bytes(32))
        prove = blob_route.Prove(bytes(32), 1, bytes(16), 0)
        _typed(lambda: blob_route.judge_answer(have, message), RemoteFaultError)
        _typed(lambda: blob_route.judge_answer(get, message), RemoteFaultError)
        _typed(lambda: blob_route.judge_answer(prove, message), RemoteFaultError)

    _typed(route, DecodeError)


def fuzz_host_binding(data: bytes) -> None:
    """A signed host binding (specs/0014 §7.1) and a membership frame (§7.2) of any bytes."""
    _typed(lambda: decode_host_binding(data, NETWORK, bytes(32)), *CHECKED)

    def frame() -> None:
        value = canonical.decode(data, max_bytes=MAX_MEMBERSHIP_FRAME_BYTES)
        _typed(lambda: decode_membership_request(value), DecodeError)
        _typed(lambda: decode_membership_response(value), DecodeError)

    _typed(frame, DecodeError)


def fuzz_charter(data: bytes) -> None:
    _typed(lambda: decode_charter(data), DecodeError)
    _typed(lambda: parse_charter_toml(_text(data)), DecodeError)


def fuzz_okh_toml(data: bytes) -> None:
    _typed(lambda: import_losh_toml(_text(data), source="fuzz.toml"), DecodeError)


def fuzz_okh_yaml(data: bytes) -> None:
    _typed(lambda: import_okh_v1_yaml(_text(data), source="fuzz.yml"), DecodeError)


def fuzz_spdx(data: bytes) -> None:
    text = _text(data)
    _typed(lambda: assess(parse_expression(text)), DecodeError)
    parents, _, child = text.partition("\n")
    _typed(lambda: derive(parents.split("|"), child), DecodeError)


def fuzz_okw(data: bytes) -> None:
    _typed(lambda: advert_from_okw(data), DecodeError)


def fuzz_sealed(data: bytes) -> None:
    """A sealed file opened with a recipient's key: a typed error, or the plaintext. Not
    being among the recipients is the local user's mistake (misuse.not-a-recipient)."""
    try:
        open_sealed(data, _sealed_key())
    except LocalMisuseError as e:
        if e.code != "misuse.not-a-recipient":
            raise
    except (DecodeError, VerificationError):
        return


@functools.cache
def _sealed_key() -> SealPrivateKey:
    case = json.loads((VECTORS / "capabilities" / "sealed" / "lab-opens.json").read_text())
    item = case["input"]
    return SealPrivateKey(item["suite"], bytes.fromhex(item["private_key_hex"]))


def fuzz_stl(data: bytes) -> None:
    _typed(lambda: analyse_mesh(data, "model/stl"), DecodeError)


def fuzz_3mf(data: bytes) -> None:
    _typed(lambda: analyse_mesh(data, "model/3mf"), DecodeError)


# -- state machines ---------------------------------------------------------------------------


def fuzz_framing(data: bytes) -> None:
    decoder = framing.FrameDecoder(max_frame_bytes=4096, max_bin_bytes=4096, max_array_len=64)
    try:
        for piece in _pieces(data):
            decoder.receive_data(piece)
            while decoder.next_frame() is not None:
                pass
    except RemoteFaultError:
        return
    except LocalMisuseError:
        raise
    except CommonsError:
        return  # a well-framed body that is not canonical: a DecodeError


def fuzz_sync(data: bytes) -> None:
    """A SyncConnection fed the peer's stream. The first byte's low bits choose what we
    say: bit 0 our hello first, bit 1 our heads once we have theirs, bit 2 then a get
    (so that ranges are expected), bit 3 our hello offers set reconciliation and, once
    theirs is in, we send a reconcile (so that replies are expected). A send the
    machine refuses (LocalMisuseError, which changes nothing) just means "not now";
    only receiving is under test."""
    conn = SyncConnection(NETWORK, now_ms=0)
    plan = data[0] if data else 0
    said: list[Message] = []
    if plan & 1:
        _try_send(conn, Hello(NETWORK, reconcile=RECONCILE_VERSION if plan & 8 else 0), said)
    try:
        for now_ms, piece in enumerate(_pieces(data)):
            conn.receive_data(piece, now_ms=now_ms)
            while not isinstance(event := conn.next_event(), NeedData):
                if isinstance(event, RemoteError):
                    return
            if plan & 8 and conn.reconciling and len(said) == 1:
                _try_send(conn, Reconcile(_FUZZ_RECONCILE), said)
            if plan & 2 and conn.their_hello is not None and len(said) < 2:
                _try_send(conn, Heads((), more=False), said)
                if plan & 4:
                    _try_send(conn, Get(0, NETWORK, 1, 10), said)
        conn.receive_data(b"", now_ms=len(data))  # the peer closes: what is left, then Closed
        while not isinstance(conn.next_event(), Closed | NeedData):
            pass
    except RemoteFaultError:
        return


_RECONCILE_ITEMS = tuple((i % 3, bytes([i]) * 32) for i in range(40))
_FUZZ_RECONCILE = Reconciler(_RECONCILE_ITEMS).initiate()


def fuzz_reconcile(data: bytes) -> None:
    """A responder and an initiator over 40 items fed one message: a reply within the
    size limit, or RemoteFaultError (remote.bad-reconcile / remote.oversized)."""
    responder = Reconciler(_RECONCILE_ITEMS, max_message_bytes=MIN_MESSAGE_BYTES)
    initiator = Reconciler(_RECONCILE_ITEMS, max_message_bytes=MIN_MESSAGE_BYTES)
    initiator.initiate()
    for machine in (responder, initiator):
        try:
            reply = machine.reconcile(data).reply
        except RemoteFaultError:
            return
        if reply is not None and len(reply) > MIN_MESSAGE_BYTES:
            raise AssertionError(f"a reply of {len(reply)} bytes")


def _reconcile_seeds() -> list[bytes]:
    out = []
    for item in _vector_inputs("sync/reconcile"):
        if "message_hex" in item:
            out.append(bytes.fromhex(item["message_hex"]))
    for path in sorted((VECTORS / "sync/reconcile").glob("session-*.json")):
        out += [bytes.fromhex(m) for m in json.loads(path.read_text())["expect"]["messages_hex"]]
    return out


def _try_send(conn: SyncConnection, message: Message, said: list[Message]) -> None:
    try:
        conn.send(message, now_ms=0)
    except LocalMisuseError:
        return
    said.append(message)


def fuzz_blob_fetch(data: bytes) -> None:
    fetch = blob.BlobFetch(BLOB_ID, 64 * 1024)
    try:
        for piece in _pieces(data):
            while fetch.send_next() is not None:
                pass
            fetch.receive_data(piece)
            while fetch.next_event() is not None:
                pass
    except RemoteFaultError:
        return


def fuzz_blob_serve(data: bytes) -> None:
    serve = blob.BlobServe()
    try:
        for piece in _pieces(data):
            serve.receive_data(piece)
            while (want := serve.next_request()) is not None:
                serve.respond_none(want.blob)
    except RemoteFaultError:
        return


#: The job kinds a step of the `jobs` target may sign (the offer is always the first).
JOB_KINDS = (
    jobs.BID, jobs.COUNTER, jobs.WITHDRAW, jobs.AWARD, jobs.CANCEL, jobs.START, jobs.SHIP,
    jobs.DELIVER, jobs.CONFIRM, jobs.DISPUTE, jobs.REFUND, jobs.REVIEW, jobs.FILES,
)  # fmt: skip
#: The job target's clock: a day after the factory's offer.
JOBS_NOW_MS = 1_700_000_000_000 + 86_400_000


def fuzz_jobs(data: bytes) -> None:
    """The job machine (protocol.jobstate) on signed steps the input chooses: 3 bytes a
    step (signer, kind, the entries it names). However they come, the fold ends in a
    state, and the same one in any arrival order (as ledger/jobs.py guarantees)."""
    story = JobStory()
    signers = (story.customer, story.lab_a, story.lab_b)
    for at in range(0, min(len(data), 3 * 24) - 2, 3):
        signer, kind, ref = signers[data[at] % 3], JOB_KINDS[data[at + 1] % 13], data[at + 2]
        ids = [story.offer.id] + [e.id for e in story.entries]
        if kind == jobs.BID:
            story.add(signer, kind, bid_body(story.offer.id, 1000 + ref))
        else:
            extra = {"bid": ids[(ref >> 4) % len(ids)]} if kind == jobs.AWARD else {}
            body = step_body(kind, story.offer.id, ids[ref % len(ids)], **extra)
            story.add(signer, kind, body)
    view = derive_job(story.offer, story.entries, max_ttl_s=TTL_S, now_ms=JOBS_NOW_MS)
    again = derive_job(story.offer, reversed(story.entries), max_ttl_s=TTL_S, now_ms=JOBS_NOW_MS)
    if again != view:
        raise AssertionError("the job's state depends on the order its entries arrived in")


def _jobs_seeds() -> list[bytes]:
    """The happy path (two bids, award, start, ship, deliver, confirm, review) and a
    dispute, as step bytes."""
    k = {kind: i for i, kind in enumerate(JOB_KINDS)}
    happy = [(1, k[jobs.BID], 0), (2, k[jobs.BID], 1), (0, k[jobs.AWARD], 0x12)]
    happy += [(1, k[jobs.START], 3), (1, k[jobs.SHIP], 4), (1, k[jobs.DELIVER], 5)]
    dispute = [*happy, (0, k[jobs.DISPUTE], 6), (1, k[jobs.REFUND], 7)]
    happy += [(0, k[jobs.CONFIRM], 6), (0, k[jobs.REVIEW], 7)]
    return [bytes(b for step in steps for b in step) for steps in (happy, dispute)]


# -- seeds ------------------------------------------------------------------------------------


def seed_inputs(target: Target) -> list[bytes]:
    """The target's seeds, then every input of its fuzz-regression vectors (specs/0012 §3)."""
    folder = VECTORS / "fuzz-regressions" / target.name
    regressions = [
        bytes.fromhex(json.loads(p.read_text())["input"]["data_hex"])
        for p in sorted(folder.glob("*.json"))
    ]
    return target.seeds() + regressions


def _vector_inputs(suite: str) -> Iterator[dict[str, Any]]:
    for path in sorted((VECTORS / suite).glob("*.json")):
        yield json.loads(path.read_text())["input"]


def _hex_seeds(suite: str, key: str) -> list[bytes]:
    out: list[bytes] = []
    for item in _vector_inputs(suite):
        value = item.get(key)
        values = value if isinstance(value, list) else [value]
        out.extend(bytes.fromhex(v) for v in values if isinstance(v, str))
    return out


def _text_seeds(suite: str, key: str) -> list[bytes]:
    return [i[key].encode() for i in _vector_inputs(suite) if isinstance(i.get(key), str)]


def _entry_seeds() -> list[bytes]:
    return _hex_seeds("entries/single", "entry_hex") + _hex_seeds("entries/log", "entries_hex")


def _advert_bodies() -> list[dict[str, Any]]:
    return [untagged(i["body"]) for i in _vector_inputs("capabilities/advert")]


def _okw_seeds() -> list[bytes]:
    out = []
    for body in _advert_bodies():
        model = kinds.check_body(ADVERT, body).model
        if isinstance(model, AdvertBody):
            out.append(advert_to_okw(model).encode())
    return out


def _body_seeds() -> list[bytes]:
    out = [canonical.encode(body) for body in _advert_bodies()]
    for raw in _entry_seeds():
        try:
            out.append(canonical.encode(decode_entry(raw).body))
        except CommonsError:
            continue
    return out


def _checkpoint_seeds() -> list[bytes]:
    notes = _text_seeds("ledger/checkpoints", "note") + _hex_seeds("ledger/checkpoints", "note_hex")
    cosigned = [
        (i["note"] + i["cosignature"]).encode() for i in _vector_inputs("ledger/cosignatures")
    ]
    return notes + cosigned


def _inclusion_seeds() -> list[bytes]:
    return [
        json.dumps(i["bundle"], sort_keys=True).encode() for i in _vector_inputs("ledger/inclusion")
    ]


def _sync_seeds() -> list[bytes]:
    out = []
    for item in _vector_inputs("sync/conversation"):
        stream = b"".join(bytes.fromhex(f) for f in item["frames_hex"])
        out += [b"\xff" + stream, b"\x00" + stream, b"\x07" + stream, b"\x09" + stream]
    return out


def _announce_seeds() -> list[bytes]:
    entries = _hex_seeds("entries/log", "entries_hex")[:4]
    notes = _text_seeds("ledger/checkpoints", "note")[:2]
    forks = _hex_seeds("ledger/fork-proofs", "fork_proof_hex")[:2]
    seeds = [encode_announcement(NETWORK, entries)] if entries else []
    return [*seeds, encode_announcement(NETWORK, checkpoints=notes, forks=forks)]


def _head_seeds() -> list[bytes]:
    network, author = bytes(32), bytes(range(32))
    return [canonical.encode([network, author, 3, bytes(32), 7, None, [[1, 2]]])]


def _frame(value: Any) -> bytes:
    return framing.encode_frame(value, max_frame_bytes=MAX_SYNC_FRAME_BYTES)


def _framing_seeds() -> list[bytes]:
    return [
        b"\x03" + _frame({"a": [1, 2, None], "b": b"xyz"}) + _frame("x"),
        b"\x00" + _frame([True, -1, "t"]),
    ]


def _blob_fetch_seeds() -> list[bytes]:
    chunk = blob.encode_message(blob.Chunk(BLOB_ID, 0, 5, b"hello"))
    end = blob.encode_message(blob.Chunk(BLOB_ID, 5, 5, b""))
    none = blob.encode_message(blob.NotHeld(BLOB_ID))
    error = blob.encode_message(blob.ErrorMessage("remote.busy", "later"))
    return [b"\x40" + chunk + end, b"\x02" + none, b"\x10" + error]


def _blob_serve_seeds() -> list[bytes]:
    want = blob.encode_message(blob.Want(BLOB_ID, 0, 1024))
    return [b"\xff" + want * 3, b"\x05" + want]


def _spdx_seeds() -> list[bytes]:
    seeds = _text_seeds("licences/check", "expression")
    for item in _vector_inputs("licences/derive"):
        seeds.append(("|".join(item["parents"]) + "\n" + item["child"]).encode())
    return seeds


def _manifest_seeds(pattern: str, count: int) -> list[bytes]:
    if not MANIFESTS.is_dir():
        return []
    files = sorted(MANIFESTS.rglob(pattern))
    return [p.read_bytes() for p in files[:: max(1, len(files) // count)][:count]]


_TOML_SEED = b"""okhv = "OKH-LOSHv1.0"
name = "Fuzz bracket"
repo = "https://example.org/bracket"
version = "1.0.0"
license = "CERN-OHL-S-2.0"
licensor = "Fab Commons"
function = "Holds a shelf"
"""

_YAML_SEED = b"""title: Fuzz bracket
description: A bracket
licensor: Fab Commons
license:
  hardware: CERN-OHL-S-2.0
version: 1.0.0
"""


def _tetrahedron() -> list[tuple[tuple[float, ...], ...]]:
    a, b, c, d = (0.0, 0.0, 0.0), (10.0, 0.0, 0.0), (0.0, 10.0, 0.0), (0.0, 0.0, 10.0)
    return [(a, c, b), (a, b, d), (a, d, c), (b, c, d)]


def _stl_seeds() -> list[bytes]:
    triangles = _tetrahedron()
    binary = b"\0" * 80 + struct.pack("<I", len(triangles))
    text = ["solid t"]
    for tri in triangles:
        binary += struct.pack("<3f", 0, 0, 0)
        binary += b"".join(struct.pack("<3f", *v) for v in tri) + b"\0\0"
        text += ["facet normal 0 0 0", "outer loop"]
        text += [f"vertex {x} {y} {z}" for x, y, z in tri] + ["endloop", "endfacet"]
    return [binary, "\n".join([*text, "endsolid t", ""]).encode()]


def _3mf_seeds() -> list[bytes]:
    points = [(0, 0, 0), (10, 0, 0), (0, 10, 0), (0, 0, 10)]
    vertices = "".join(f'<vertex x="{x}" y="{y}" z="{z}"/>' for x, y, z in points)
    faces = [(0, 2, 1), (0, 1, 3), (0, 3, 2), (1, 2, 3)]
    triangles = "".join(f'<triangle v1="{a}" v2="{b}" v3="{c}"/>' for a, b, c in faces)
    model = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<model unit="millimeter" xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">'
        f'<resources><object id="1" type="model"><mesh><vertices>{vertices}</vertices>'
        f"<triangles>{triangles}</triangles></mesh></object></resources>"
        '<build><item objectid="1"/></build></model>'
    )
    types = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="model" '
        'ContentType="application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/>'
        "</Types>"
    )
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as package:
        for name, text in (("[Content_Types].xml", types), ("3D/3dmodel.model", model)):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            package.writestr(info, text)
    return [buffer.getvalue()]


# -- the local API's request bodies ----------------------------------------------------------


def _api_models() -> tuple[type[BaseModel], ...]:
    """Every request-body model of the local API, in a fixed order (by module, name)."""
    found = {
        (module.__name__, name): value
        for module in (api, capability_api, governance_api, jobs_api, live_api)
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, BaseModel)
        and value.__module__ == module.__name__
        and name.endswith("In")
    }
    return tuple(found[key] for key in sorted(found))


API_MODELS = _api_models()


def fuzz_api_body(data: bytes) -> None:
    """A JSON request body (the first byte picks the route's model), as the API reads
    it: the model's own validation, then the conversions the routes apply before any
    node work (a proposal's action body and its kind's schema, an advert's schema).
    Only a validation error or a typed CommonsError may come out: anything else would
    be a 500 (specs/0012 §2)."""
    if not data:
        return
    model = API_MODELS[data[0] % len(API_MODELS)]
    try:
        body = model.model_validate_json(data[1:])
        if isinstance(body, governance_api.ProposalIn):
            kinds.check_body("gov.proposal", governance_api.action_body(body))
        elif isinstance(body, capability_api.AdvertIn):
            validate_advert(body.advert)
    except (ValidationError, CommonsError):
        pass


def _api_body_seeds() -> list[bytes]:
    samples = [
        b"{}", b'{"text": "hello"}', b'{"texts": ["a", "b"]}', b'{"choice": "yes"}',
        b'{"action": "rules.change", "title": "t", "changes": {"max_blob_bytes": 1024}}',
        b'{"action": "member.admit", "title": "t", "member": "not an id"}',
        b'{"price": {"amount_minor": 1, "currency": "EUR"}, "ready_ms": 0}',
        b'{"advert": {"name": "Lab", "machines": []}}', b'{"blobs": ["x"]}',
    ]  # fmt: skip
    return [bytes([i]) + sample for i in range(len(API_MODELS)) for sample in samples]


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("canonical", fuzz_canonical, lambda: _hex_seeds("encoding/canonical", "encoded_hex"),
               "protocol.canonical.decode, and encode gives the accepted bytes back"),
        Target("entry", fuzz_entry, _entry_seeds,
               "protocol.entry.decode_entry and read_stored_entry"),
        Target("body", fuzz_body, _body_seeds, "protocol.kinds.check_body for every kind"),
        Target("checkpoint", fuzz_checkpoint, _checkpoint_seeds,
               "ledger.checkpoint notes, signed checkpoints and cosignature lines"),
        Target("witness", fuzz_witness, _witness_seeds,
               "ledger.witness.witness_checkpoint: real checkpoints, any proofs and clock"),
        Target("fork-proof", fuzz_fork_proof,
               lambda: _hex_seeds("ledger/fork-proofs", "fork_proof_hex"),
               "ledger.forkproof.verify_fork_proof (both kinds)"),
        Target("inclusion", fuzz_inclusion, _inclusion_seeds,
               "ledger.inclusion.check_bundle on any JSON value"),
        Target("announce", fuzz_announce, _announce_seeds,
               "ledger.gossip.check_announcement against an empty ledger"),
        Target("head", fuzz_head, _head_seeds, "ledger.store.decode_head (stored log state)"),
        Target("charter", fuzz_charter, lambda: _text_seeds("governance/charter", "toml"),
               "protocol.governance.decode_charter and parse_charter_toml"),
        Target("okh-toml", fuzz_okh_toml, lambda: [_TOML_SEED, *_manifest_seeds("*.toml", 8)],
               "licenses.okh.import_losh_toml"),
        Target("okh-yaml", fuzz_okh_yaml, lambda: [_YAML_SEED],
               "licenses.okh.import_okh_v1_yaml"),
        Target("spdx", fuzz_spdx, _spdx_seeds,
               "licenses.spdx.parse_expression, families.assess, derive.derive"),
        Target("okw", fuzz_okw, _okw_seeds, "protocol.okw.advert_from_okw (OKW YAML)"),
        Target("sealed", fuzz_sealed, lambda: _hex_seeds("capabilities/sealed", "sealed_hex"),
               "protocol.sealed.open_sealed with a recipient's key"),
        Target("stl", fuzz_stl, _stl_seeds, "node.ops.geometry.analyse_mesh on STL"),
        Target("3mf", fuzz_3mf, _3mf_seeds, "node.ops.geometry.analyse_mesh on 3MF"),
        Target("jobs", fuzz_jobs, _jobs_seeds,
               "protocol.jobstate.derive_job on signed steps, in two arrival orders"),
        Target("framing", fuzz_framing, _framing_seeds,
               "protocol.framing.FrameDecoder on a stream cut anywhere"),
        Target("sync", fuzz_sync, _sync_seeds,
               "protocol.sync.SyncConnection fed a peer's stream"),
        Target("blob-fetch", fuzz_blob_fetch, _blob_fetch_seeds,
               "protocol.blob.BlobFetch fed a server's stream"),
        Target("blob-serve", fuzz_blob_serve, _blob_serve_seeds,
               "protocol.blob.BlobServe fed a client's stream"),
        Target("api-body", fuzz_api_body, _api_body_seeds,
               "the local API's request-body models and their conversions"),
        Target("address-record", fuzz_address_record,
               lambda: [*_hex_seeds("discovery/address-record", "signed_hex"),
                        *_hex_seeds("discovery/address-frame", "frame_hex"),
                        *_hex_seeds("discovery/dialback", "frame_hex")],
               "protocol.address: address records, exchange and dial-back frames"),
        Target("blob-route", fuzz_blob_route, lambda: _hex_seeds("blobs/route", "frame_hex"),
               "protocol.blob_route: content routing's have/get frames and their answers"),
        Target("host-binding", fuzz_host_binding,
               lambda: [*_hex_seeds("discovery/host-binding", "signed_hex"),
                        *_hex_seeds("discovery/membership", "frame_hex")],
               "protocol.host_binding: host bindings and membership frames"),
        Target("reconcile", fuzz_reconcile, _reconcile_seeds,
               "protocol.reconcile.Reconciler (both roles) fed a peer's Negentropy message"),
    )
}  # fmt: skip

#: Every target by its index: the first byte of a `mixed` input picks one.
ORDER: tuple[Target, ...] = tuple(TARGETS.values())


def split_mixed(data: bytes) -> tuple[Target, bytes]:
    """The target a `mixed` input goes to, and the input that target gets."""
    return ORDER[data[0] % len(ORDER)], data[1:]


def fuzz_mixed(data: bytes) -> None:
    if data:
        target, rest = split_mixed(data)
        target.run(rest)


def _mixed_seeds() -> list[bytes]:
    return [bytes([i]) + seed for i, t in enumerate(ORDER) for seed in seed_inputs(t)]


#: All targets in one process, for a short run that pays the start-up cost once.
MIXED = Target("mixed", fuzz_mixed, _mixed_seeds, "every target above; the first byte picks one")
RUNNABLE: dict[str, Target] = {**TARGETS, MIXED.name: MIXED}
