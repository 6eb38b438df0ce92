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
the C2SP formats (specs/vectorgen/tlog.py), signatures/ed25519 with a literal model of
edwards25519 and the verification rule (specs/vectorgen/ed25519.py); only
ledger/inclusion bundles are made by a `Ledger`, as a node makes them. The case builders
are in specs/vectorgen/, one module per area.

The file format and every suite's input and expected fields are defined in
specs/vectors/README.md, which this script writes (specs/vectorgen/readme.py) together
with the case counts; tests/specs/test_vectors.py and the tests/vector_checks_*.py
modules check the real code against every file as it describes.
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
    admission,
    advert_file,
    attested,
    blob_route,
    blobs,
    capabilities,
    checkpoints,
    designs,
    discovery,
    ed25519,
    encoding,
    entries,
    forkproofs,
    freezes,
    fuzz_regressions,
    governance,
    host_binding,
    ids,
    inclusion,
    jobs,
    licences,
    logs,
    manifests,
    okw,
    proposals,
    quotes,
    ranges,
    readiness,
    reconcile,
    sync,
    takedown,
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
        *ed25519.cases(),
        *entries.single_cases(),
        *logs.log_cases(),
        *checkpoints.checkpoint_cases(),
        *checkpoints.cosignature_cases(),
        *witness.witness_cases(),
        *forkproofs.fork_proof_cases(),
        *freezes.cases(),
        *inclusion.inclusion_cases(),
        *ranges.range_cases(),
        *attested.cases(),
        *governance.cases(),
        *proposals.cases(),
        *admission.cases(),
        *licences.cases(),
        *sync.cases(),
        *reconcile.cases(),
        *capabilities.cases(),
        *quotes.cases(),
        *okw.cases(),
        *advert_file.cases(),
        *fuzz_regressions.cases(),
        *jobs.cases(),
        *jobs.message_cases(),
        *blobs.cases(),
        *blob_route.cases(),
        *blob_route.pin_cases(),
        *blob_route.proof_cases(),
        *designs.cases(),
        *readiness.cases(),
        *manifests.cases(),
        *takedown.cases(),
        *discovery.cases(),
        *discovery.frame_cases(),
        *discovery.dialback_cases(),
        *host_binding.cases(),
        *host_binding.frame_cases(),
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
