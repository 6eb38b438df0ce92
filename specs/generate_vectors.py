"""Deterministic generator of the conformance vectors in specs/vectors/.

Run from the repository root:
    .venv/bin/python specs/generate_vectors.py           # rewrite every vector file
    .venv/bin/python specs/generate_vectors.py --check   # write nothing; exit 1 if stale

Layout: `specs/vectors/<area>/<suite>/<case>.json`, one case per file, named after the
mutation it applies (kebab-case) or after the valid input it shows, plus a generated
`specs/vectors/README.md` with the case counts. The script owns every suite it writes:
it deletes the `.json` files there that it no longer produces, then rewrites all.
Keys come from fixed seeds (seed = SHA-256("fabcommons-vectors/" || name)), timestamps
are fixed and Ed25519 signatures are deterministic, so two runs give identical bytes;
nothing here reads the clock or a random source. Expectations are written from how each
input was built (what the specs say), never read back from the code under test; the
fold results of entries/log come from a small key model (`Log`, specs/vectorgen/logs.py)
and the ledger suites build trees, proofs and notes with their own model of RFC 6962 and
the C2SP formats (specs/vectorgen/tlog.py); only ledger/inclusion bundles are made by a
`Ledger`, as a node makes them. tests/specs/test_vectors.py checks the real code against every
file. The case builders are in specs/vectorgen/, one module per area.

Case file format (JSON, keys sorted, two-space indent, trailing newline):

    {"area": "<area>", "suite": "<suite>", "case": "<case>",
     "description": "<one sentence>",
     "input": {...},
     "expect": {"ok": true | false, "error": "<code>" (only when ok is false), ...}}

Bytes are lowercase hex strings under keys ending in `_hex`. Decoded msgpack values use a
tagged JSON form: a byte string is {"bin": "<hex>"}; nil, booleans, integers, text,
arrays and maps are written naturally (a map whose only key is "bin" with a text value
would be ambiguous, so no vector contains one). Integers may exceed 2**53: read them with
a JSON parser that keeps big integers exact. Ids in `expect` are in their text form
(protocol.ids.id_to_text). When `ok` is false, `error` is the stable error code; its
prefix names the error family (`decode.` -> DecodeError, `verify.` -> VerificationError,
`proof.` -> ProofError, a VerificationError). Signed notes (checkpoints, cosignature
lines) are JSON text, exactly as on the wire.

Suites and their fields:
  encoding/canonical  input.encoded_hex -> protocol.canonical.decode.
                      expect.value: the decoded value, tagged (only when ok).
  ids/text            input.text -> protocol.ids.id_from_text.
                      expect.id_hex: the 32 id bytes (only when ok).
  entries/single      input.entry_hex -> protocol.entry.decode_entry.
                      When ok: expect.network/author/signer/prev/id (text ids, prev may
                      be null), seq, timestamp_ms, kind, body (tagged) and body_status
                      {"valid": bool, "code": null | "body.<code>"} from
                      protocol.kinds.check_body. When not ok, decode.bad-field errors
                      also give expect.field, the offending field.
  entries/log         input.network_hex, input.author_hex, input.entries_hex (in log
                      order) -> decode each entry, fold protocol.logstate.verify_next
                      from LogHead(network, author). When ok: expect.size, head_id,
                      revoked (half-open [from, to) seq ranges) and keys
                      {signing_key_hex, recovery_key_hex, key_event, established_seq}.
                      When not ok: expect.at, the 1-based index of the first entry
                      that fails (to decode or to extend the log).
  ledger/checkpoints  input.note (a signed checkpoint note; null when its bytes are not
                      UTF-8, given then as input.note_hex) and either input.public_key_hex,
                      the author's key, or input.key_events_hex, the author's key history
                      (ledger.keyhistory over the checkpoint's network and author), whose key
                      in force after the first `size` entries is the author's key ->
                      decode_signed_checkpoint, then verify_checkpoint_signature.
                      When ok: expect.origin, size, root_hex. A decode.bad-checkpoint error
                      may give expect.field, the part of the note at fault.
  ledger/cosignatures input.note (an author-signed checkpoint), input.cosignature (one
                      cosignature/v1 line, with its newline), input.witness_public_key_hex
                      -> ledger.checkpoint.verify_cosignature of the line's name, key id,
                      timestamp and signature on the note's checkpoint.
                      When ok: expect.timestamp_s.
  ledger/witness      input.author_public_key_hex, witness_seed_hex, witness_name and steps
                      [{note, proof_hex, now_s}] -> for each step in order, from an empty
                      WitnessState: decode_signed_checkpoint(note), then
                      ledger.witness.witness_checkpoint. When ok: expect.timestamps
                      and expect.cosignatures (each step's cosignature line). When not ok:
                      expect.at, the 1-based index of the step refused.
  ledger/fork-proofs  input.fork_proof_hex -> ledger.forkproof.verify_fork_proof, with
                      ledger.log.checkpoint_side verifying checkpoint sides.
                      When ok: expect.kind, position, author, network.
  ledger/inclusion    input.bundle (the JSON object of ledger.inclusion) -> check_bundle.
                      When ok: expect.seq, tree_size, root_hex, cosigned_by and
                      cosignature_times (in cosigned_by's order).
  ledger/ranges       input.network_hex, author_hex, initial_entries_hex, range_hex, note,
                      proof_hex, later_key_events_hex -> a Ledger over an empty
                      MemoryLogStore ingests the initial entries (all accepted), then
                      ingest_range(range, note, proof, later key events): the checkpoint
                      may be of a size N beyond the range's end, the proof is then the
                      consistency proof from the range's end to N (specs/0003 §4).
                      When ok: expect.size, the log's size after. When not ok, the store is
                      unchanged: no entry of the range and no checkpoint is kept.
  sync/conversation   input.network_hex, frames_hex: the peer's frames, fed one by one
                      to a fresh protocol.sync.SyncConnection that sent its own hello.
                      expect.events (event type per frame) or error + at (frame index).
  licences/check      input.expression -> licenses.spdx.parse_expression, then
                      licenses.families.assess. When ok: expect.expression (normal
                      form), open, family (specs/0006 §3-4). Reasons are not in vectors.
  licences/derive     input.parents (list of expressions), input.child ->
                      licenses.derive.derive. When ok: expect.verdict and attribution.
  governance/charter  input.toml -> protocol.governance.parse_charter_toml. When ok:
                      expect.network_id (text) and charter_hex. A decode.bad-charter
                      error gives expect.field.
  fuzz-regressions/<target>  input.data_hex: an input on which the fuzz target of
                      that name (tests/fuzz/targets.py) once crashed -> the target's
                      decoder; expect.error is the typed error it must raise (specs/0012).
  governance/tally    input.electorate_hex, rules, proposal {id_hex, author_hex, seq,
                      action (tagged)}, votes [...], checkpoints [{author_hex, size,
                      cosignatures {witness hex: timestamp_s}}], now_s ->
                      ledger.governance.tally. expect: TallyResult.to_json().
  governance/evolve   input.members_hex, rules, text (the charter), proposals, votes,
                      checkpoints (as tally's), at_s -> ledger.governance.evolve.
                      expect: members, text, applied, skipped and tallies (by id).
  jobs/derive         input.offer_hex, entries_hex, max_ttl_s, now_ms ->
                      protocol.jobstate.derive_job (specs/0007 §5); fields in
                      tests/vector_checks_jobs.py.
  capabilities/*      advert bodies, matching and quotes, sealed files (specs/0011);
                      fields in tests/vector_checks_capabilities.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a file, not with -m
    # sys.path[0] is specs/; the packages (protocol, ledger, specs.vectorgen) are at the root.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from specs.vectorgen import (
    capabilities,
    checkpoints,
    encoding,
    entries,
    forkproofs,
    fuzz_regressions,
    governance,
    ids,
    inclusion,
    jobs,
    licences,
    logs,
    ranges,
    sync,
    witness,
)
from specs.vectorgen.common import (
    CASE_NAME,
    VECTORS_DIR,
    Case,
    differences,
    expected_files,
    stale_files,
)


def all_cases() -> list[Case]:
    cases = [
        *encoding.canonical_cases(),
        *ids.id_cases(),
        *entries.single_cases(),
        *logs.log_cases(),
        *checkpoints.checkpoint_cases(),
        *checkpoints.cosignature_cases(),
        *witness.witness_cases(),
        *forkproofs.fork_proof_cases(),
        *inclusion.inclusion_cases(),
        *ranges.range_cases(),
        *governance.cases(),
        *licences.cases(),
        *sync.cases(),
        *capabilities.cases(),
        *fuzz_regressions.cases(),
        *jobs.cases(),
    ]
    paths = [c.path for c in cases]
    assert len(set(paths)) == len(paths), "two cases share a file name"
    for c in cases:
        assert CASE_NAME.fullmatch(c.case), f"case name {c.case!r} is not kebab-case"
    return cases


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    cases = all_cases()
    files = expected_files(cases)
    stale = stale_files(cases, files)
    if args.check:
        diff = differences(files, stale)
        for line in diff:
            print(line)
        print(f"{len(diff)} file(s) would change" if diff else f"{len(cases)} vectors up to date")
        return 1 if diff else 0
    for path in stale:
        path.unlink()
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    print(f"wrote {len(cases)} vectors in {VECTORS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
