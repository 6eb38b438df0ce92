"""RFC 6962 Merkle trees over SHA-256: an append-only tree, its proofs, and their verifiers.

Guarantees:
  * Hashing is exactly RFC 6962 §2.1: ``leaf_hash(d) = SHA-256(0x00 || d)``,
    ``node_hash(l, r) = SHA-256(0x01 || l || r)``, the empty tree hashes to ``SHA-256("")``.
  * `MerkleTree` stores every perfect subtree hash, so `append` is amortised O(1) and
    `root`, `inclusion_proof` and `consistency_proof` are O(log n) for any earlier size.
  * Proofs are the RFC 6962 PATH (§2.1.1) and PROOF (§2.1.2), ordered bottom to top.
  * The verifiers are ports of transparency-dev/merkle ``proof/verify.go`` and accept and
    reject the same inputs, with one deliberate tightening: every hash that is fed into
    SHA-256 must be exactly 32 bytes ("proof.bad-hash"), so hash boundaries cannot shift.
    As upstream since its PR #236 (and its test vectors), a consistency proof from size 0
    never verifies, and for equal sizes the roots are compared as opaque bytes.
  * A proof that does not verify raises `ProofError` with a stable code:
    "proof.bad-size", "proof.wrong-length", "proof.root-mismatch" or "proof.bad-hash".
    Caller mistakes on a `MerkleTree` raise `LocalMisuseError("misuse.bad-argument")`.

Ranges in this module are half-open: [begin, end) covers leaves begin, ..., end - 1.
Pure: no I/O, no clock, no randomness.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from protocol.errors import LocalMisuseError, ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MerkleTree",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """The RFC 6962 hash of one leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes | bytearray, right: bytes) -> bytes:
    """The RFC 6962 hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _misuse(message: str) -> LocalMisuseError:
    return LocalMisuseError("misuse.bad-argument", message)


def _split(n: int) -> int:
    """The largest power of two strictly less than n (requires n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only RFC 6962 tree over leaf hashes.

    Level h holds the hash of every complete perfect subtree over leaves
    [i * 2**h, (i + 1) * 2**h), i = 0, 1, ...: `_levels[h]` is one contiguous
    buffer of 32-byte hashes, node i at bytes [32 * i, 32 * i + 32). One buffer per
    level rather than a list of bytes objects costs 32 bytes a node instead of ~73,
    and leaves no long-lived small objects scattered through the heap.
    """

    __slots__ = ("_levels",)

    def __init__(self) -> None:
        self._levels: list[bytearray] = [bytearray()]

    @classmethod
    def from_leaves(cls, leaf_hashes: Iterable[bytes]) -> MerkleTree:
        """A new tree holding `leaf_hashes` (already hashed with `leaf_hash`), in order."""
        tree = cls()
        tree.extend(leaf_hashes)
        return tree

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return len(self._levels[0]) // HASH_SIZE

    def _node(self, level: int, index: int) -> bytes:
        start = index * HASH_SIZE
        return bytes(self._levels[level][start : start + HASH_SIZE])

    def append(self, leaf_hash: bytes) -> int:
        """Append one leaf hash; returns its index. Amortised O(1) hashes."""
        if not isinstance(leaf_hash, bytes) or len(leaf_hash) != HASH_SIZE:
            raise _misuse(f"a leaf hash must be {HASH_SIZE} bytes")
        levels = self._levels
        levels[0] += leaf_hash
        node, level = leaf_hash, 0
        while len(levels[level]) % (2 * HASH_SIZE) == 0:
            node = node_hash(levels[level][-2 * HASH_SIZE : -HASH_SIZE], node)
            level += 1
            if level == len(levels):
                levels.append(bytearray())
            levels[level] += node
        return self.size - 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append every leaf hash of `leaf_hashes`, in order: the same tree as one
        `append` each, built level by level (each new pair hashed once, in one pass
        per level rather than a climb per leaf)."""
        leaves = list(leaf_hashes)
        for h in leaves:
            if type(h) is not bytes or len(h) != HASH_SIZE:
                raise _misuse(f"a leaf hash must be {HASH_SIZE} bytes")
        levels = self._levels
        levels[0] += b"".join(leaves)
        level = 0
        while True:
            nodes = levels[level]
            have = len(levels[level + 1]) // HASH_SIZE if level + 1 < len(levels) else 0
            want = len(nodes) // (2 * HASH_SIZE)
            if want == have:
                return
            if level + 1 == len(levels):
                levels.append(bytearray())
            parents = levels[level + 1]
            view = memoryview(nodes)
            for i in range(have, want):
                parents += hashlib.sha256(_NODE_PREFIX + view[64 * i : 64 * i + 64]).digest()
            view.release()
            level += 1

    def truncate(self, size: int) -> None:
        """Forget every leaf from `size` on (undoes appends made since the tree had
        `size` leaves): level h keeps its first size >> h nodes, 0 <= size <= self.size."""
        if not 0 <= size <= self.size:
            raise _misuse(f"tree size {size} outside [0, {self.size}]")
        for level, nodes in enumerate(self._levels):
            del nodes[(size >> level) * HASH_SIZE :]

    def leaf(self, index: int) -> bytes:
        """The leaf hash stored at `index`, for 0 <= index < size."""
        if not 0 <= index < self.size:
            raise _misuse(f"leaf index {index} outside [0, {self.size})")
        return self._node(0, index)

    def root(self, size: int | None = None) -> bytes:
        """MTH of leaves [0, size) (default: all); EMPTY_ROOT for size 0. O(log n)."""
        if size is None:
            size = self.size
        if not 0 <= size <= self.size:
            raise _misuse(f"tree size {size} outside [0, {self.size}]")
        if size == 0:
            return EMPTY_ROOT
        return self._range_hash(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 6962 PATH(index, D[0:size]), bottom to top, for 0 <= index < size <= self.size."""
        if not 0 < size <= self.size:
            raise _misuse(f"tree size {size} outside [1, {self.size}]")
        if not 0 <= index < size:
            raise _misuse(f"leaf index {index} outside [0, {size})")
        path: list[bytes] = []
        begin, end = 0, size
        while end - begin > 1:
            k = _split(end - begin)
            if index < begin + k:
                path.append(self._range_hash(begin + k, end))
                end = begin + k
            else:
                path.append(self._range_hash(begin, begin + k))
                begin += k
        path.reverse()
        return path

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """RFC 6962 PROOF(size1, D[0:size2]), bottom to top, for 0 <= size1 <= size2 <= size.

        Empty when size1 == size2 and, by transparency-dev's former convention, when
        size1 == 0; note that `verify_consistency` rejects every proof from size 0.
        """
        if not 0 <= size1 <= size2 <= self.size:
            raise _misuse(f"sizes {size1}, {size2} not within 0 <= size1 <= size2 <= {self.size}")
        if size1 in (0, size2):
            return []
        proof: list[bytes] = []
        begin, end, whole = 0, size2, True  # SUBPROOF(size1 - begin, D[begin:end), whole)
        while size1 != end:
            k = _split(end - begin)
            if size1 <= begin + k:
                proof.append(self._range_hash(begin + k, end))
                end = begin + k
            else:
                proof.append(self._range_hash(begin, begin + k))
                begin, whole = begin + k, False
        if not whole:
            proof.append(self._range_hash(begin, end))
        proof.reverse()
        return proof

    def root_if_appended(self, leaf_hashes: Sequence[bytes]) -> bytes:
        """MTH of the stored leaves followed by `leaf_hashes`; the tree is not changed.

        Starts from the compact range of [0, size) (its stored perfect subtrees,
        largest first), merges the new leaves in like a binary counter, then folds
        from the right. O(log n + len(leaf_hashes)).
        """
        stack: list[tuple[int, bytes]] = []
        pos, n = 0, self.size
        for level in range(n.bit_length() - 1, -1, -1):
            if (n >> level) & 1:
                stack.append((level, self._node(level, pos >> level)))
                pos += 1 << level
        for h in leaf_hashes:
            if not isinstance(h, bytes) or len(h) != HASH_SIZE:
                raise _misuse(f"a leaf hash must be {HASH_SIZE} bytes")
            level, node = 0, h
            while stack and stack[-1][0] == level:
                node = node_hash(stack.pop()[1], node)
                level += 1
            stack.append((level, node))
        if not stack:
            return EMPTY_ROOT
        acc = stack.pop()[1]
        while stack:
            acc = node_hash(stack.pop()[1], acc)
        return acc

    def _range_hash(self, begin: int, end: int) -> bytes:
        """MTH of leaves [begin, end), 0 < end - begin, begin a multiple of bit_ceil(end - begin).

        Every subtree visited by the RFC recursion has that alignment, so [begin, end) splits
        into stored perfect subtrees, largest first, folded from the right. O(log n).
        """
        nodes: list[bytes] = []
        pos, n = begin, end - begin
        for level in range(n.bit_length() - 1, -1, -1):
            if (n >> level) & 1:
                nodes.append(self._node(level, pos >> level))
                pos += 1 << level
        acc = nodes.pop()
        while nodes:
            acc = node_hash(nodes.pop(), acc)
        return acc


# --- Verification: a port of transparency-dev/merkle proof/verify.go -----------------------


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError("proof.bad-hash", f"{what} has {len(value)} bytes, want {HASH_SIZE}")


def _check_proof(proof: Sequence[bytes], want: int) -> None:
    """Require exactly `want` proof hashes, each HASH_SIZE bytes long."""
    if len(proof) != want:
        raise ProofError("proof.wrong-length", f"proof has {len(proof)} hashes, want {want}")
    for i, h in enumerate(proof):
        _check_hash(h, f"proof hash {i}")


def _verify_match(calculated: bytes, expected: bytes) -> None:
    if calculated != expected:
        raise ProofError("proof.root-mismatch", f"got {calculated.hex()}, want {expected.hex()}")


def _decomp_incl_proof(index: int, size: int) -> tuple[int, int]:
    """Lengths (inner, border) of the inclusion proof for `index` in a tree of `size`.

    The inner part lies below the point where the paths to leaves `index` and
    `size - 1` diverge; the border part lies above it, on the tree's right border.
    """
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    """Hash `seed` (the node at `index` on its level) up through `proof`, low to high."""
    for i, h in enumerate(proof):
        seed = node_hash(seed, h) if (index >> i) & 1 == 0 else node_hash(h, seed)
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    """Like `_chain_inner`, but only left siblings: the subtree's earlier version."""
    for i, h in enumerate(proof):
        if (index >> i) & 1 == 1:
            seed = node_hash(h, seed)
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    """Hash `seed` up the right border, where every proof hash is a left sibling."""
    for h in proof:
        seed = node_hash(h, seed)
    return seed


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root of a `size`-leaf tree implied by `proof` for `leaf_hash` at `index`.

    Requires 0 <= index < size. Raises ProofError ("proof.bad-size", "proof.bad-hash",
    "proof.wrong-length") when the inputs cannot form a proof.
    """
    if not 0 <= index < size:
        raise ProofError("proof.bad-size", f"leaf index {index} outside [0, {size})")
    _check_hash(leaf_hash, "leaf hash")
    inner, border = _decomp_incl_proof(index, size)
    _check_proof(proof, inner + border)
    res = _chain_inner(leaf_hash, proof[:inner], index)
    return _chain_border_right(res, proof[inner:])


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ProofError unless `proof` shows `leaf_hash` at `index` in the tree `root`."""
    _verify_match(root_from_inclusion_proof(index, size, leaf_hash, proof), root)


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ProofError unless `proof` shows the `size1` tree `root1` is a prefix of `root2`.

    Requires 0 < size1 <= size2; for size1 == size2 the proof must be empty and the roots
    equal (compared as opaque bytes, as upstream).
    """
    _verify_match(_root_from_consistency_proof(size1, size2, proof, root1), root2)


def _root_from_consistency_proof(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes
) -> bytes:
    """The `size2` root implied by `proof` from the `size1` tree `root1` (checks root1)."""
    if size1 < 0 or size2 < size1:
        raise ProofError("proof.bad-size", f"need 0 <= size1 <= size2, got {size1}, {size2}")
    if size1 == 0:
        raise ProofError("proof.bad-size", "a consistency proof from the empty tree is meaningless")
    if size1 == size2:
        _check_proof(proof, 0)
        return root1
    if not proof:
        raise ProofError("proof.wrong-length", "empty proof for size1 < size2")
    _check_hash(root1, "root1")
    inner, border = _decomp_incl_proof(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1  # trailing zeros of size1
    inner -= shift  # shift < inner because size1 < size2
    # The proof starts with the hash of the 2**shift subtree ending at size1,
    # unless size1 is that very subtree, whose hash is root1.
    seed, start = (root1, 0) if size1 == 1 << shift else (proof[0], 1)
    _check_proof(proof, start + inner + border)
    rest = proof[start:]
    mask = (size1 - 1) >> shift  # chaining starts at level `shift`
    hash1 = _chain_border_right(_chain_inner_right(seed, rest[:inner], mask), rest[inner:])
    _verify_match(hash1, root1)
    return _chain_border_right(_chain_inner(seed, rest[:inner], mask), rest[inner:])
