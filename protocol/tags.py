"""Domain-separation tags (specs/0002-identities-and-entries.md §3).

Every signature, and every id derived from a structured value (identity,
network), is computed over `tag || bytes`, one tag per purpose, so no signature
or digest made for one purpose is valid for another. Content ids — entry ids,
blob ids, fork-proof ids — are plain SHA-256 of the content's bytes, so common
tools (sha256sum, transparency-log tooling) compute them too; the content's own
encoding keeps them apart (an entry is a msgpack array, a fork proof a map).
Each tag ends in a NUL byte, which no text format of ours contains, and none is
a prefix of another.
"""

from __future__ import annotations

from typing import Final

#: Signature over an entry's payload bytes.
ENTRY_SIG: Final = b"fabcommons/v1/entry-signature\x00"
#: Identity id: digest of the inception key set.
IDENTITY_ID: Final = b"fabcommons/v1/identity\x00"
#: Network id: digest of a charter's canonical encoding.
NETWORK_ID: Final = b"fabcommons/v1/network\x00"
#: Signature of a host binding: an identity vouches for its node's host key (specs/0014 §7.1).
HANDSHAKE_SIG: Final = b"fabcommons/v1/handshake\x00"

#: Signature of a node's address record, by its host key (specs/0014 §2).
ADDRESS_RECORD_SIG: Final = b"fabcommons/v1/address-record\x00"

#: Sync item id: digest of a log's head, the item set reconciliation compares.
SYNC_ITEM: Final = b"fabcommons/v1/sync-item\x00"

#: Rendezvous weight of a member for a blob it may pin (specs/0009 §13).
PIN_WEIGHT: Final = b"fabcommons/v1/pin-weight\x00"

#: Answer to a challenge over a range of a blob one claims to hold (specs/0009 §12.4).
BLOB_PROOF: Final = b"fabcommons/v1/blob-proof\x00"

ALL: Final = (
    ENTRY_SIG,
    IDENTITY_ID,
    NETWORK_ID,
    HANDSHAKE_SIG,
    ADDRESS_RECORD_SIG,
    SYNC_ITEM,
    PIN_WEIGHT,
    BLOB_PROOF,
)
