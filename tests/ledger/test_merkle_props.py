"""ledger.merkle against a slow, literal RFC 6962 §2.1 reference and upstream known answers.

The reference below is written straight from the RFC text over a list of leaf *data*
(MTH, PATH, PROOF/SUBPROOF), deliberately naive: recursion and list slicing, O(n) per call.

Note on "wrong size" mutations: an RFC 6962 proof binds the *shape* of the path, not the
tree size. Two sizes whose PATH (or PROOF) has the same shape run the verifier through the
identical computation, so the proof verifies for both (e.g. PATH(0, D[0:3]) under size 4).
The `ref_*_shape` functions derive that shape from the same RFC recursion, and the tests
demand: a size mutation fails exactly when the shape changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    MerkleTree,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from protocol.errors import LocalMisuseError, ProofError

MAX_LEAVES = 300
SETTINGS = settings(max_examples=50, deadline=None)

# --- The literal RFC 6962 §2.1 reference -------------------------------------------------


def ref_k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 6962 §2.1."""
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = ref_k(n)
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 §2.1.1."""
    n = len(d)
    if n == 1:
        return []
    k = ref_k(n)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 6962 §2.1.2."""
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = ref_k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 §2.1.2."""
    return ref_subproof(m, d, True)


def ref_path_shape(m: int, n: int) -> list[str]:
    """The side of each PATH(m, D[n]) hash, bottom to top (same recursion as ref_path)."""
    if n == 1:
        return []
    k = ref_k(n)
    if m < k:
        return [*ref_path_shape(m, k), "right"]
    return [*ref_path_shape(m - k, n - k), "left"]


def ref_proof_shape(m: int, n: int, b: bool = True) -> list[str]:
    """The role of each PROOF(m, D[n]) hash (same recursion as ref_subproof)."""
    if m == n:
        return [] if b else ["old-subtree"]
    k = ref_k(n)
    if m <= k:
        return [*ref_proof_shape(m, k, b), "right"]
    return [*ref_proof_shape(m - k, n - k, False), "left"]


# --- Strategies and helpers --------------------------------------------------------------


@st.composite
def leaf_data(draw: st.DrawFn, min_size: int = 0) -> list[bytes]:
    """Distinct random leaf data (distinct, so that no two leaves are interchangeable)."""
    n = draw(st.integers(min_size, MAX_LEAVES))
    return draw(st.lists(st.binary(max_size=8), min_size=n, max_size=n, unique=True))


def build(data: Sequence[bytes]) -> MerkleTree:
    return MerkleTree.from_leaves(leaf_hash(x) for x in data)


def flip(h: bytes, bit: int) -> bytes:
    return h[: bit // 8] + bytes([h[bit // 8] ^ (1 << (bit % 8))]) + h[bit // 8 + 1 :]


def passes(check: Callable[[], None]) -> bool:
    try:
        check()
    except ProofError:
        return False
    return True


# --- Known answers from transparency-dev/merkle (testonly/constants.go, verify_test.go) ---

LEAF_INPUTS = [
    bytes.fromhex(x)
    for x in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f"]
]  # fmt: skip
ROOT_HASHES = [
    bytes.fromhex(x)
    for x in [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]
# (leaf index, tree size, proof); verify_test.go lists leaves 1-based, these are 0-based.
KNOWN_INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
KNOWN_CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip


def test_rfc6962_hasher_known_answers() -> None:
    """rfc6962/rfc6962_test.go: empty root, empty leaf, a leaf and a node."""
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    want_empty_leaf = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert leaf_hash(b"").hex() == want_empty_leaf
    want_leaf = "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    assert leaf_hash(b"L123456").hex() == want_leaf
    want_node = "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    assert node_hash(b"N123", b"N456").hex() == want_node


def test_known_roots_of_the_8_leaf_tree() -> None:
    tree = build(LEAF_INPUTS)
    assert [tree.root(n) for n in range(9)] == ROOT_HASHES
    assert [ref_mth(LEAF_INPUTS[:n]) for n in range(9)] == ROOT_HASHES
    assert tree.root() == ROOT_HASHES[8]


@pytest.mark.parametrize(("index", "size", "proof"), KNOWN_INCLUSION)
def test_known_inclusion_proofs(index: int, size: int, proof: list[str]) -> None:
    tree = build(LEAF_INPUTS)
    want = [bytes.fromhex(h) for h in proof]
    assert tree.inclusion_proof(index, size) == want
    verify_inclusion(index, size, tree.leaf(index), want, ROOT_HASHES[size])


@pytest.mark.parametrize(("size1", "size2", "proof"), KNOWN_CONSISTENCY)
def test_known_consistency_proofs(size1: int, size2: int, proof: list[str]) -> None:
    tree = build(LEAF_INPUTS)
    want = [bytes.fromhex(h) for h in proof]
    assert tree.consistency_proof(size1, size2) == want
    verify_consistency(size1, size2, ROOT_HASHES[size1], ROOT_HASHES[size2], want)


# --- Properties against the reference -----------------------------------------------------


@SETTINGS
@given(leaf_data())
def test_root_matches_reference_for_every_prefix(data: list[bytes]) -> None:
    tree = build(data)
    assert tree.size == len(data)
    assert [tree.root(n) for n in range(len(data) + 1)] == [
        ref_mth(data[:n]) for n in range(len(data) + 1)
    ]
    assert all(tree.leaf(i) == ref_mth(data[i : i + 1]) for i in range(len(data)))


@SETTINGS
@given(leaf_data(min_size=1), st.data())
def test_inclusion_proofs_match_reference_and_verify(
    data: list[bytes], draw: st.DataObject
) -> None:
    tree = build(data)
    for _ in range(5):
        size = draw.draw(st.integers(1, len(data)), label="size")
        index = draw.draw(st.integers(0, size - 1), label="index")
        proof = tree.inclusion_proof(index, size)
        assert proof == ref_path(index, data[:size])
        root = ref_mth(data[:size])
        assert root_from_inclusion_proof(index, size, tree.leaf(index), proof) == root
        verify_inclusion(index, size, tree.leaf(index), proof, root)


@SETTINGS
@given(leaf_data(min_size=1), st.data())
def test_consistency_proofs_match_reference_and_verify(
    data: list[bytes], draw: st.DataObject
) -> None:
    tree = build(data)
    for _ in range(5):
        size2 = draw.draw(st.integers(1, len(data)), label="size2")
        size1 = draw.draw(st.integers(1, size2), label="size1")
        proof = tree.consistency_proof(size1, size2)
        assert proof == (ref_proof(size1, data[:size2]) if size1 < size2 else [])
        verify_consistency(size1, size2, ref_mth(data[:size1]), ref_mth(data[:size2]), proof)
    assert tree.consistency_proof(0, len(data)) == []  # transparency-dev's former convention
    with pytest.raises(ProofError) as err:  # ... which no verifier accepts any more
        verify_consistency(0, len(data), EMPTY_ROOT, tree.root(), [])
    assert err.value.code == "proof.bad-size"


def proof_mutations(proof: list[bytes], bit: int, extra: bytes) -> list[list[bytes]]:
    """Proofs that differ from `proof`: one bit flipped per hash, one dropped, one added."""
    out = [[*proof[:i], flip(h, bit), *proof[i + 1 :]] for i, h in enumerate(proof)]
    out += [[*proof[:i], *proof[i + 1 :]] for i in range(len(proof))]
    out += [[extra, *proof], [*proof, extra], [*proof, b""], [b"", *proof]]
    return out


@SETTINGS
@given(leaf_data(min_size=1), st.data())
def test_mutated_inclusion_proofs_fail(data: list[bytes], draw: st.DataObject) -> None:
    tree = build(data)
    size = draw.draw(st.integers(1, len(data)), label="size")
    index = draw.draw(st.integers(0, size - 1), label="index")
    bit = draw.draw(st.integers(0, 8 * HASH_SIZE - 1), label="bit")
    leaf, root, proof = tree.leaf(index), tree.root(size), tree.inclusion_proof(index, size)
    for bad in proof_mutations(proof, bit, root):
        with pytest.raises(ProofError):
            verify_inclusion(index, size, leaf, bad, root)
    for other in {index - 1, index + 1, index ^ 1, index ^ 2, size, -1} - {index}:
        with pytest.raises(ProofError):
            verify_inclusion(other, size, leaf, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf, proof, flip(root, bit))
    for other in {size - 1, size + 1, size * 2, size // 2, size ^ 2} - {size}:
        same_shape = other > index and ref_path_shape(index, other) == ref_path_shape(index, size)
        check = partial(verify_inclusion, index, other, leaf, proof, root)
        assert passes(check) == same_shape, other


@SETTINGS
@given(leaf_data(min_size=2), st.data())
def test_mutated_consistency_proofs_fail(data: list[bytes], draw: st.DataObject) -> None:
    tree = build(data)
    size2 = draw.draw(st.integers(2, len(data)), label="size2")
    size1 = draw.draw(st.integers(1, size2 - 1), label="size1")
    bit = draw.draw(st.integers(0, 8 * HASH_SIZE - 1), label="bit")
    root1, root2 = tree.root(size1), tree.root(size2)
    proof = tree.consistency_proof(size1, size2)
    for bad in proof_mutations(proof, bit, root1):
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, root1, root2, bad)
    for r1, r2 in [(flip(root1, bit), root2), (root1, flip(root2, bit)), (root2, root1)]:
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, r1, r2, proof)
    shape = ref_proof_shape(size1, size2)
    sizes1 = {(s, size2) for s in (size1 - 1, size1 + 1, size1 * 2, size1 // 2, size1 ^ 2)}
    sizes2 = {(size1, s) for s in (size2 - 1, size2 + 1, size2 * 2, size2 // 2, size2 ^ 2)}
    for s1, s2 in (sizes1 | sizes2) - {(size1, size2)}:
        same_shape = 0 < s1 < s2 and ref_proof_shape(s1, s2) == shape
        check = partial(verify_consistency, s1, s2, root1, root2, proof)
        assert passes(check) == same_shape, (s1, s2)


# --- Edges and misuse ----------------------------------------------------------------------


def test_empty_and_single_leaf_trees() -> None:
    tree = MerkleTree()
    assert tree.size == 0
    assert tree.root() == EMPTY_ROOT == ref_mth([])
    assert tree.consistency_proof(0, 0) == []
    assert tree.append(leaf_hash(b"x")) == 0
    assert tree.root() == leaf_hash(b"x") == ref_mth([b"x"])
    assert tree.inclusion_proof(0, 1) == []
    verify_inclusion(0, 1, leaf_hash(b"x"), [], tree.root())
    verify_consistency(1, 1, tree.root(), tree.root(), [])


def test_shape_ambiguity_is_real() -> None:
    """PATH(0, D[0:3]) also verifies under size 4: proofs bind the shape, not the size."""
    tree = build(LEAF_INPUTS)
    verify_inclusion(0, 4, tree.leaf(0), tree.inclusion_proof(0, 3), ROOT_HASHES[3])
    verify_consistency(1, 4, ROOT_HASHES[1], ROOT_HASHES[3], tree.consistency_proof(1, 3))


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.append(b"short"),
        lambda t: t.append(bytearray(32)),
        lambda t: t.leaf(3),
        lambda t: t.leaf(-1),
        lambda t: t.root(4),
        lambda t: t.root(-1),
        lambda t: t.inclusion_proof(0, 4),
        lambda t: t.inclusion_proof(3, 3),
        lambda t: t.inclusion_proof(-1, 3),
        lambda t: t.inclusion_proof(0, 0),
        lambda t: t.consistency_proof(2, 4),
        lambda t: t.consistency_proof(3, 2),
        lambda t: t.consistency_proof(-1, 2),
    ],
)
def test_misuse_is_reported(call: Callable[[MerkleTree], object]) -> None:
    tree = build(LEAF_INPUTS[:3])
    with pytest.raises(LocalMisuseError) as err:
        call(tree)
    assert err.value.code == "misuse.bad-argument"
    assert tree.size == 3


def test_verifier_error_codes() -> None:
    tree = build(LEAF_INPUTS)
    proof, leaf, root = tree.inclusion_proof(2, 8), tree.leaf(2), tree.root()
    cases: list[tuple[str, Callable[[], None]]] = [
        ("proof.bad-size", lambda: verify_inclusion(8, 8, leaf, proof, root)),
        ("proof.bad-size", lambda: verify_inclusion(-1, 8, leaf, proof, root)),
        ("proof.bad-size", lambda: verify_consistency(-1, 8, root, root, proof)),
        ("proof.bad-hash", lambda: verify_inclusion(2, 8, leaf[:31], proof, root)),
        ("proof.bad-hash", lambda: verify_inclusion(2, 8, leaf, [*proof[:2], b"x" * 33], root)),
        ("proof.wrong-length", lambda: verify_inclusion(2, 8, leaf, [*proof, root], root)),
        ("proof.root-mismatch", lambda: verify_inclusion(2, 8, leaf, proof, EMPTY_ROOT)),
        ("proof.bad-size", lambda: verify_consistency(5, 4, root, root, [])),
        ("proof.bad-size", lambda: verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])),
        ("proof.wrong-length", lambda: verify_consistency(4, 4, root, root, [root])),
        ("proof.wrong-length", lambda: verify_consistency(3, 8, ROOT_HASHES[3], root, [])),
        ("proof.bad-hash", lambda: verify_consistency(4, 8, b"x", root, [root])),
        ("proof.root-mismatch", lambda: verify_consistency(8, 8, root, EMPTY_ROOT, [])),
    ]
    for code, call in cases:
        with pytest.raises(ProofError) as err:
            call()
        assert err.value.code == code, (code, err.value)
    with pytest.raises(ProofError, match=f"got {root.hex()}, want {EMPTY_ROOT.hex()}"):
        verify_inclusion(2, 8, leaf, proof, EMPTY_ROOT)


@given(st.integers(0, 80), st.integers(0, 80))
def test_root_if_appended_matches_appending(before: int, extra: int) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(before + extra)]
    tree = MerkleTree.from_leaves(leaves[:before])
    assert tree.root_if_appended(leaves[before:]) == MerkleTree.from_leaves(leaves).root()
    assert tree.size == before


@given(st.integers(0, 80), st.integers(0, 80), st.integers(0, 40))
def test_truncating_undoes_appends(before: int, extra: int, later: int) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(before + extra)]
    other = [leaf_hash(b"other" + i.to_bytes(4, "big")) for i in range(later)]
    tree = MerkleTree.from_leaves(leaves)
    tree.truncate(before)
    fresh = MerkleTree.from_leaves(leaves[:before])
    assert tree.size == before and tree.root() == fresh.root()
    tree.extend(other)  # and it grows on as if the undone leaves had never been there
    fresh.extend(other)
    size = before + later
    assert tree.root() == fresh.root()
    assert [tree.consistency_proof(k, size) for k in range(size + 1)] == [
        fresh.consistency_proof(k, size) for k in range(size + 1)
    ]
    with pytest.raises(LocalMisuseError):
        tree.truncate(size + 1)


@given(st.lists(st.integers(0, 40), max_size=8))
def test_extending_in_chunks_builds_the_tree_appending_builds(chunks: list[int]) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(sum(chunks))]
    one_by_one, chunked = MerkleTree(), MerkleTree()
    for leaf in leaves:
        one_by_one.append(leaf)
    start = 0
    for n in chunks:
        chunked.extend(leaves[start : start + n])
        start += n
        assert chunked.root() == MerkleTree.from_leaves(leaves[:start]).root()
    size = len(leaves)
    assert chunked.size == size and chunked.root() == one_by_one.root()
    assert [chunked.inclusion_proof(i, size) for i in range(size)] == [
        one_by_one.inclusion_proof(i, size) for i in range(size)
    ]
    with pytest.raises(LocalMisuseError):
        chunked.extend([leaf_hash(b"ok"), b"short"])  # checked before anything is added
    assert chunked.size == size
