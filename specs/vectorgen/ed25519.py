"""signatures/ed25519: the Ed25519 verification rule of specs/0002 §1.1, case by case.

A literal model of edwards25519 (RFC 8032 §5.1, affine coordinates, slow and plain) is
written here from the RFC, not from protocol/keys.py; every expectation is the rule of
0002 §1.1 applied by this model. The cases are RFC 8032 §7.1 TEST 1-3 (valid), the 15
edge cases of "Taming the many EdDSAs" (Chalkias, Garillot, Nikolaenko, SSR 2020;
novifinancial/ed25519-speccheck, cases.json), and mutations built here of one valid
signature: a non-canonical S, the identity as R, a mixed-order R that only a cofactored
verifier accepts, a mixed-order key that a cofactorless verifier without the subgroup
check accepts, keys that are not canonical or not on the curve.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from specs.vectorgen.common import Case, error, ok

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
#: A point in extended coordinates (X, Y, Z, T): x = X/Z, y = Y/Z, x·y = T/Z (RFC 8032 §5.1.4).
Point = tuple[int, int, int, int]
IDENTITY: Point = (0, 1, 1, 0)


def _inv(x: int) -> int:
    return pow(x, P - 2, P)


def _point(x: int, y: int) -> Point:
    return x, y, 1, x * y % P


def add(a: Point, b: Point) -> Point:
    """RFC 8032 §5.1.4: the twisted Edwards addition law (complete on this curve)."""
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa, bb = (y1 - x1) * (y2 - x2) % P, (y1 + x1) * (y2 + x2) % P
    cc, dd = t1 * 2 * D * t2 % P, z1 * 2 * z2 % P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return e * f % P, g * h % P, f * g % P, e * h % P


def neg(a: Point) -> Point:
    return -a[0] % P, a[1], a[2], -a[3] % P


def same(a: Point, b: Point) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def mul(k: int, a: Point) -> Point:
    out, base = IDENTITY, a
    while k:
        if k & 1:
            out = add(out, base)
        base, k = add(base, base), k >> 1
    return out


def _x_of(y: int, sign: int, *, canonical: bool = True) -> int | None:
    """RFC 8032 §5.1.3 steps 2-4: x from y and the sign bit, or None (canonical=False
    also reads x = 0 with the sign bit set, a "negative zero")."""
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if v * x * x % P == (-u) % P:
        x = x * SQRT_M1 % P
    if v * x * x % P != u:
        return None
    if x == 0 and sign and canonical:
        return None
    return P - x if x & 1 != sign else x


BASE: Point = _point(_x_of(4 * _inv(5) % P, 0) or 0, 4 * _inv(5) % P)


def encode(a: Point) -> bytes:
    zi = _inv(a[2])
    x, y = a[0] * zi % P, a[1] * zi % P
    return (y | (x & 1) << 255).to_bytes(32, "little")


def decode(raw: bytes, *, canonical: bool = True) -> Point | None:
    """RFC 8032 §5.1.3; with canonical=False, a y >= p is read mod p (to describe cases)."""
    n = int.from_bytes(raw, "little")
    y, sign = n & (2**255 - 1), n >> 255
    if y >= P:
        if canonical:
            return None
        y -= P
    x = _x_of(y, sign, canonical=canonical)
    return None if x is None else _point(x, y)


def order_class(a: Point) -> str:
    """small (order 1-8), prime (order L) or mixed (a small component and an order-L one)."""
    if same(mul(8, a), IDENTITY):
        return "small"
    return "prime" if same(mul(L, a), IDENTITY) else "mixed"


def _k(r_raw: bytes, a_raw: bytes, message: bytes) -> int:
    return int.from_bytes(hashlib.sha512(r_raw + a_raw + message).digest(), "little") % L


def verify(a_raw: bytes, message: bytes, sig: bytes) -> bool:
    """The rule of specs/0002 §1.1, literally."""
    a = decode(a_raw)
    if a is None or order_class(a) != "prime":  # rows 1-2
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= L:  # row 3
        return False
    r = add(mul(s, BASE), neg(mul(_k(sig[:32], a_raw, message), a)))
    return encode(r) == sig[:32] and not same(r, IDENTITY)  # rows 4-5


def cofactored(a_raw: bytes, message: bytes, sig: bytes) -> bool:
    """[8][S]B = [8]R + [8][k]A, with R and A read leniently: what verifiers disagree on."""
    a, r = decode(a_raw, canonical=False), decode(sig[:32], canonical=False)
    if a is None or r is None:
        return False
    s, k = int.from_bytes(sig[32:], "little"), _k(sig[:32], a_raw, message)
    return same(mul(8, mul(s, BASE)), mul(8, add(r, mul(k, a))))


def secret_scalar(seed: bytes) -> tuple[int, bytes]:
    """RFC 8032 §5.1.5: the clamped scalar a and the prefix."""
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def sign(seed: bytes, message: bytes) -> tuple[bytes, bytes]:
    """RFC 8032 §5.1.6: (public key, signature)."""
    a, prefix = secret_scalar(seed)
    a_raw = encode(mul(a, BASE))
    r = int.from_bytes(hashlib.sha512(prefix + message).digest(), "little") % L
    r_raw = encode(mul(r, BASE))
    s = (r + _k(r_raw, a_raw, message) * a) % L
    return a_raw, r_raw + s.to_bytes(32, "little")


# --- the cases -------------------------------------------------------------------------

#: RFC 8032 §7.1 TEST 1, 2, 3: (secret seed, message, public key, signature), in hex.
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
        "1cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "72",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613"
        "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "af82",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760"
        "984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]

_A0 = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"
_A1 = "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43"
_A2 = "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d"
_A3 = "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623"
_A4 = "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
_M0 = "9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41"
_M1 = "9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79"
_M2 = "e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c"
_M3 = "85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40"
_R0 = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"
_R1 = "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43"
_R2 = "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

#: The 15 cases of ed25519-speccheck (cases.json): (message, public key, signature), in hex.
TAMING = [
    ("2a66241a42a9ee12994d8068dcf1bb7dfc6637b45450acd43711f637fa5080fc", _A0, _R0 + "00" * 32),
    ("8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6", _A0, _R0 + "00" * 32),
    (
        _M0,
        _A0,
        _R1 + "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
    ),
    (
        _M1,
        _A0,
        _R1 + "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
    ),
    (
        _M0,
        _A1,
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"
        "182ef1a5b928da07fec769cc8a12db6bcf70dab3f3227fa315e9d5e3e01a3405",
    ),
    (
        "aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab",
        _A1,
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"
        "8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e",
    ),
    (
        _M1,
        _A2,
        "9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f"
        "87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009",
    ),
    (
        _M2,
        _A2,
        "160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed512"
        "5ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09",
    ),
    (
        _M2,
        _A2,
        "21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7"
        "e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405",
    ),
    (
        _M3,
        _A3,
        "e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e"
        "547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514",
    ),
    (
        _M3,
        _A3,
        "8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa1942"
        "7e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22",
    ),
    (
        _M0,
        _A1,
        _R2 + "03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f",
    ),
    (
        _M0,
        _A1,
        _R2 + "ca8c5b64cd208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908",
    ),
    (
        "e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b",
        _A4,
        "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dc"
        "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
    ),
    (
        "39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f",
        _A4,
        "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dc"
        "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
    ),
]


def _describe(a_raw: bytes, message: bytes, sig: bytes) -> str:
    """What the case is, as this model reads it: the key, R, S and the two equations."""
    parts = []
    for what, raw in (("A", a_raw), ("R", sig[:32])):
        point = decode(raw, canonical=False)
        canonical = "" if decode(raw) is not None else "non-canonical "
        on = f"{canonical}{order_class(point)}-order {what}" if point else f"{what} off the curve"
        parts.append(on)
    s = int.from_bytes(sig[32:], "little")
    parts.append("S = 0" if s == 0 else ("S >= L" if s >= L else "0 < S < L"))
    eq = cofactored(a_raw, message, sig)
    parts.append("cofactored equation holds" if eq else "cofactored equation fails")
    return ", ".join(parts)


def _case(name: str, description: str, a_raw: bytes, message: bytes, sig: bytes) -> Case:
    data = {"public_key_hex": a_raw.hex(), "message_hex": message.hex(), "signature_hex": sig.hex()}
    expect = ok() if verify(a_raw, message, sig) else error("verify.bad-signature")
    return Case("signatures", "ed25519", name, description, data, expect)


def cases() -> Iterator[Case]:
    for n, (seed, message, public, signature) in enumerate(RFC8032, start=1):
        a_raw, sig = sign(bytes.fromhex(seed), bytes.fromhex(message))
        assert (a_raw.hex(), sig.hex()) == (public, signature), f"RFC 8032 TEST {n}"
        yield _case(
            f"rfc8032-test-{n}", f"RFC 8032 §7.1 TEST {n}.", a_raw, bytes.fromhex(message), sig
        )
    for n, (message, public, signature) in enumerate(TAMING):
        raw = [bytes.fromhex(x) for x in (public, message, signature)]
        description = f"Taming the many EdDSAs, case {n}: {_describe(*raw)}."
        yield _case(f"taming-case-{n:02d}", description, *raw)
    yield from _mutations()


def _mutations() -> Iterator[Case]:
    seed, message = bytes.fromhex(RFC8032[0][0]), b"fabcommons"
    a, prefix = secret_scalar(seed)
    a_raw, sig = sign(seed, message)
    s = int.from_bytes(sig[32:], "little")
    yield _case(
        "happy",
        "A valid signature of 'fabcommons' by the RFC 8032 TEST 1 key.",
        a_raw,
        message,
        sig,
    )
    yield _case(
        "s-plus-l",
        "S + L in place of S: the equation still holds mod L, but S is not canonical (row 3).",
        a_raw,
        message,
        sig[:32] + (s + L).to_bytes(32, "little"),
    )
    identity = encode(IDENTITY)
    s_id = _k(identity, a_raw, message) * a % L
    yield _case(
        "r-identity",
        "R is the identity and S = k·a: the equation holds, but R has small order (row 5).",
        a_raw,
        message,
        identity + s_id.to_bytes(32, "little"),
    )
    t8 = torsion()
    r = int.from_bytes(hashlib.sha512(prefix + b"mixed R").digest(), "little") % L
    r_raw = encode(add(mul(r, BASE), t8))
    s_mixed = (r + _k(r_raw, a_raw, message) * a) % L
    yield _case(
        "r-mixed-order",
        "R = rB + T (T of order 8), S = r + k·a: only a cofactored verifier accepts (row 4).",
        a_raw,
        message,
        r_raw + s_mixed.to_bytes(32, "little"),
    )
    yield _mixed_key(a, prefix, message, t8)
    yield _case(
        "key-non-canonical",
        "The key's y is p + 1 (the identity, written with y >= p): not canonical (row 1).",
        (P + 1).to_bytes(32, "little"),
        message,
        sig,
    )
    yield _case(
        "key-not-on-curve", "The key's y has no x on the curve (row 1).", _off_curve(), message, sig
    )
    yield _case(
        "key-small-order",
        "The key is a point of order 8 (row 2).",
        encode(t8),
        message,
        sig,
    )


def torsion() -> Point:
    """A point of order 8: from a point whose y has an x, times L (killing the order-L part)."""
    y = 2
    while True:
        x = _x_of(y, 0)
        if x is not None and not same(mul(4, t := mul(L, _point(x, y))), IDENTITY):
            return t
        y += 1


def _mixed_key(a: int, prefix: bytes, message: bytes, torsion: Point) -> Case:
    """A = aB + T and a signature that passes the cofactorless equation under it: R = rB with
    -k·T = 0, i.e. k a multiple of 8 (found by trying nonces)."""
    key = add(mul(a, BASE), torsion)
    a_raw = encode(key)
    for n in range(1000):
        r = int.from_bytes(hashlib.sha512(prefix + b"mixed A %d" % n).digest(), "little") % L
        r_raw = encode(mul(r, BASE))
        k = _k(r_raw, a_raw, message)
        if k % 8 == 0:
            sig = r_raw + ((r + k * a) % L).to_bytes(32, "little")
            break
    else:
        raise AssertionError("no nonce gives k = 0 mod 8")
    description = (
        "A = aB + T (T of order 8): a mixed-order key; the cofactorless equation holds, so "
        "only the subgroup check refuses it (row 2)."
    )
    return _case("key-mixed-order", description, a_raw, message, sig)


def _off_curve() -> bytes:
    y = 2
    while _x_of(y, 0) is not None:
        y += 1
    return y.to_bytes(32, "little")
